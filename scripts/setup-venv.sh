#!/usr/bin/env bash
# Create .venv if needed and install the project into it with the extras named in $1.
# Used by quickstart.sh and test.sh; safe to run again (pip skips what is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-emulator}"
shift || true
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${extras}]" "$@"
