#!/usr/bin/env bash
# Create .venv if needed and install the project into it (editable) with the extras named in
# $1; further arguments are more packages to install. Used by quickstart.sh and test.sh; safe
# to run again (pip skips what is installed, a few seconds).
#
# Progress: pip's full output goes to .venv/pip.log; the terminal gets one line per step and
# a running count of the packages pip looks at, so a first run (1-2 minutes) is never silent.
# If pip fails, the end of the log is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-emulator}"
shift || true
started=$SECONDS
log=.venv/pip.log

# pip_step WHAT PIP-INSTALL-ARGS...: say WHAT, run pip, show a live count of "Collecting" lines
# and "Processing" lines (in place on a terminal, every 20th in a log), then what it installed.
pip_step() {
  local what="$1"
  shift
  echo "$what..."
  local tty=0
  [ -t 1 ] && tty=1
  local status=0
  .venv/bin/python -m pip install --disable-pip-version-check --progress-bar off "$@" 2>&1 |
    tee -a "$log" |
    awk -v tty="$tty" '
      /^(Collecting|Processing) / {
        n++
        name = $2
        sub(/.*\//, "", name)
        if (tty) printf "\r\033[K  %d checked (%s)", n, name
        else if (n % 20 == 1) printf "  %d checked (%s)...\n", n, name
        fflush()
      }
      /^Installing collected packages:/ {
        if (tty && n) printf "\r\033[K"
        if (n) printf "  %d package%s checked\n", n, (n == 1 ? "" : "s")
        n = 0
        printf "  installing...\n"
        fflush()
      }
      /^Successfully installed / {
        if (NF <= 6) { sub(/^Successfully installed /, ""); printf "  installed %s\n", $0 }
        else printf "  installed %d packages\n", NF - 2
      }
      END { if (tty && n) printf "\r\033[K" }
    ' || status=$?
  if [ "$status" -ne 0 ]; then
    echo "error: pip failed (exit $status); the end of $log:" >&2
    tail -n 30 "$log" >&2
    exit "$status"
  fi
}

# A venv without pip is what `python3 -m venv` leaves when Debian's python3-venv is missing.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  if ! command -v python3 >/dev/null; then
    echo "error: python3 not found; install Python 3.10 or newer" >&2
    exit 1
  fi
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "error: klein-widget needs Python 3.10 or newer; python3 is $(python3 -V 2>&1)" >&2
    exit 1
  fi
  echo "Setting up .venv with $(python3 -V) (first run: about 1-2 minutes; later runs take seconds)..."
  rm -rf .venv
  if ! python3 -m venv .venv; then
    rm -rf .venv
    echo "error: 'python3 -m venv' failed; on Debian or Ubuntu: apt-get install python3-venv" >&2
    exit 1
  fi
  : >"$log"
  pip_step "Upgrading pip inside .venv" --upgrade pip
else
  echo "Checking .venv is up to date (a few seconds)..."
  : >"$log"
fi
pip_step "Installing klein-widget[$extras]${*:+ with $*} into .venv (editable: edits to the code take effect at once)" \
  -e ".[${extras}]" "$@"
echo ".venv is ready ($((SECONDS - started)) s; pip's full output: $log)."
