#!/usr/bin/env bash
# The main job: set up .venv and run notebooks/01-quickstart.ipynb end to end.
# Without WAVESPEED_API_KEY it runs on the local emulator (no key, no network, no cost);
# with it, on WaveSpeed's real API (a handful of images at $0.008 each).
# Extra args go to scripts/run_notebook.py (e.g. --out PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh emulator nbclient ipykernel
exec .venv/bin/python scripts/run_notebook.py notebooks/01-quickstart.ipynb "$@"
