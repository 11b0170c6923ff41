#!/usr/bin/env bash
# Every check, from a fresh machine: .venv with the [dev] extra, the Debian packages the tests
# need, then ruff, mypy --strict and the whole pytest suite, in 7 processes (pytest-xdist:
# the suite waits on servers, kernels and browsers as much as it computes, so 7 fit 2 cores;
# the longest tests start first; a costly build, bench run or lesson run is made once and
# shared). Measured on a quiet 2-core machine, 2026-12-07, the whole suite at -n 4/5/6:
# pytest 232/225/210 s, all green; 364/-/382 CPU-s busy. The hostile tests make their first,
# importing calls untimed, so six processes no longer push a call past its deadline bound.
# 2026-12-08, a fresh clone with .venv made, the same machine slower that day (the suite of
# 2026-12-07 took 4 min 15 s of pytest at -n 6): 1,823 tests, -n 6 240 s, -n 7 225 s, green.
# Extra args go to pytest, e.g.
#   bash scripts/test.sh tests/client -x        one folder, stop at the first failure
#   bash scripts/test.sh -m "not slow"          the day-to-day loop: no kernels, browsers,
#                                               builds or subprocesses
#   bash scripts/test.sh -n 0                   in one process
# The tests write nothing under your home (see tests/test_home.py).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
# setup-venv.sh runs pip (resolving every dependency, building the editable wheel: ~4 CPU-s)
# only when .venv is missing or pyproject.toml or that script changed since it last succeeded.
stamp=.venv/.test-sh-setup
wanted="$(cat pyproject.toml scripts/setup-venv.sh | sha256sum)"
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  echo ".venv is up to date (pyproject.toml unchanged since it was set up)."
else
  bash scripts/setup-venv.sh dev
  echo "$wanted" >"$stamp"
fi

# Debian packages: why each is needed, and how to tell it is there.
why() {
  case "$1" in
  chromium) echo "the panel's browser tests drive it in JupyterLab and Voila" ;;
  curl) echo "the panel's curl snippet is run for real" ;;
  jq) echo "that curl snippet reads the answer with jq" ;;
  nodejs | npm) echo "the JupyterHub tests install and run configurable-http-proxy (npm)" ;;
  esac
}
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v curl >/dev/null || missing="$missing curl"
command -v jq >/dev/null || missing="$missing jq"
command -v npm >/dev/null || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  echo "The tests need Debian packages that are not installed:"
  for package in $missing; do
    echo "  $package: $(why "$package")"
  done
  if ! command -v apt-get >/dev/null; then
    echo "error: no apt-get on this machine; install$missing yourself" \
      "(Chromium must be at /usr/bin/chromium) and run this again" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "error: not root and no sudo; as root run:" \
        "apt-get update && apt-get install -y --no-install-recommends$missing" >&2
      exit 1
    fi
    sudo="sudo"
    echo "Using sudo for apt-get (it may ask for your password)."
  fi
  # --no-install-recommends: Chromium's recommends are ~115 packages (udev, avahi-daemon, a
  # systemd upgrade) that headless tests never use.
  echo "Installing them with apt-get install -y --no-install-recommends (about a minute)..."
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  # shellcheck disable=SC2086
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 $missing
  echo "Debian packages installed."
fi

# JupyterHub's proxy for tests/hub: configurable-http-proxy from npm, once, into .venv/chp.
chp=.venv/chp/node_modules/.bin/configurable-http-proxy
if [ ! -x "$chp" ]; then
  echo "Installing configurable-http-proxy (npm) into .venv/chp for the JupyterHub tests..."
  mkdir -p .venv/chp
  (cd .venv/chp && npm install --no-audit --no-fund --loglevel=error configurable-http-proxy)
fi

echo "Running ruff check..."
.venv/bin/ruff check .
echo "Running ruff format --check..."
.venv/bin/ruff format --check .
echo "Running mypy (strict)..."
.venv/bin/mypy
# Bytecode: where the environment sets PYTHONDONTWRITEBYTECODE=1, every pytest process would
# re-parse and re-rewrite every test module and re-compile the package (collection: ~8 CPU-s
# a process instead of ~4). The cache goes inside .venv, so the tree stays clean; the tests'
# own kernels and subprocesses inherit it.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$PWD/.venv/pycache"
echo "Running pytest in 7 processes... [setup took $((SECONDS - started)) s]"
# pytest's own exit code: 0 all passed; 5 (no tests collected) is a failure like any other.
# --maxschedchunk 2: a worker takes two tests at a time, so the longest (first in the order
# of tests/selection.py) spread over the workers.
exec .venv/bin/python -m pytest -n 7 --maxschedchunk 2 "$@"
