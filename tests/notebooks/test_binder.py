"""binder/: what mybinder.org needs to open the lessons ready to run on the emulator."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"


def test_post_build_installs_this_checkout_with_the_emulator() -> None:
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "postBuild must be executable"
    lines = post_build.read_text().splitlines()
    assert lines[0] == "#!/bin/bash"
    assert "set -euo pipefail" in lines
    assert 'python -m pip install --no-cache-dir ".[emulator]"' in lines


def test_runtime_is_a_python_the_package_supports() -> None:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, runtime
    pyproject = (ROOT / "pyproject.toml").read_text()
    minimum = re.search(r'^requires-python = ">=3\.(\d+)"$', pyproject, re.MULTILINE)
    assert minimum is not None
    assert int(match.group(1)) >= int(minimum.group(1))
    assert re.search(r"^emulator = \[$", pyproject, re.MULTILINE)


def test_the_quickstart_binder_opens_exists() -> None:
    assert (ROOT / "notebooks" / "01-quickstart.ipynb").exists()
