#!/usr/bin/env bash
# README command 1 as a newcomer runs it: clone this repository's HEAD into a temporary folder,
# run `bash scripts/quickstart.sh` there with no key, and check what it made: the executed
# notebook, with images and no errors, images in the gallery, and no warning on the terminal.
# It builds the clone's own .venv (pip's cache is shared, this checkout's .venv is not):
# about a minute. CI runs it before the test suite (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
commit=$(git rev-parse HEAD)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/klein-fresh-clone.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
clone="$scratch/klein-widget"

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "note: uncommitted changes are not part of this check (it clones the last commit)"
fi
echo "Cloning ${commit:0:12} into $clone..."
git clone --quiet --no-hardlinks "$PWD" "$clone"
git -C "$clone" checkout --quiet --detach "$commit"

echo "Running README command 1 there: bash scripts/quickstart.sh (no WAVESPEED_API_KEY)..."
cd "$clone"
env -u WAVESPEED_API_KEY -u WAVESPEED_BASE_URL -u KLEIN_GALLERY \
  bash scripts/quickstart.sh </dev/null 2>&1 | tee "$scratch/quickstart.log"

.venv/bin/python - "$scratch/quickstart.log" <<'EOF'
"""Check what the quickstart made, as a newcomer would look at it."""

import json
import re
import sys
from pathlib import Path

problems = []
executed = Path("klein-outputs/01-quickstart.ipynb")
if not executed.exists():
    sys.exit(f"fresh-clone quickstart: {executed} was not written")
outputs = [
    output
    for cell in json.loads(executed.read_text())["cells"]
    if cell["cell_type"] == "code"
    for output in cell["outputs"]
]
errors = [o for o in outputs if o["output_type"] == "error"]
if errors:
    problems.append(f"{len(errors)} cell(s) raised, first: {errors[0]['ename']}")
images = sum(
    ("image/png" in o.get("data", {}) or "image/jpeg" in o.get("data", {}))
    + str(o.get("data", {}).get("text/html", "")).count("<img ")
    for o in outputs
)
if images == 0:
    problems.append("the executed notebook shows no image")
files = [p for p in Path("klein-outputs").glob("*/*") if p.suffix in (".png", ".jpg")]
if not files:
    problems.append("no image in the gallery klein-outputs/")
terminal = Path(sys.argv[1]).read_text()
alarming = [
    line
    for line in terminal.splitlines()
    if re.search(r"warn|error|traceback|eavesdrop", line, re.IGNORECASE)
]
if alarming:
    problems.append("the terminal showed:\n  " + "\n  ".join(alarming))
if problems:
    sys.exit("fresh-clone quickstart failed:\n- " + "\n- ".join(problems))
print(f"Checked: the executed notebook shows {images} images, the gallery holds {len(files)}.")
EOF
echo "Fresh-clone quickstart: ok in $((SECONDS - started)) s."
