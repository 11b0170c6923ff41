"""One server process for the whole test run, shared by the xdist workers (`shared`).

The first worker to ask starts it, under a file lock in the run's folder, and writes what
the others need to reach it; each worker holds a lease while its session lasts. The
starter stops (and reaps) it once no live worker holds a lease; if others still do after
`HANDOVER` seconds (a per-test timeout covers the wait), it leaves it to them and the last
one stops it by its pid. A worker that asks after it stopped starts a new one. In one
process it is the session's own.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HANDOVER = 90.0  # seconds the starter waits for the others at its session's end


@contextmanager
def shared(
    factory: pytest.TempPathFactory,
    name: str,
    start: Callable[[], tuple[subprocess.Popen[bytes], dict[str, str]]],
) -> Iterator[dict[str, str]]:
    """The run's ``name`` process: the fields ``start`` returned with it, as this worker's
    lease on it (it stays up until every worker's lease has ended)."""
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder
    state, lock, leases = root / f"{name}.json", root / f"{name}.lock", root / f"{name}-leases"
    leases.mkdir(exist_ok=True)
    mine = leases / str(os.getpid())
    process = None
    with _locked(lock):
        found = json.loads(state.read_text()) if state.exists() else None
        if found is None or not _alive(found["pid"]):
            process, fields = start()
            found = {"fields": fields, "pid": process.pid, "owner": os.getpid()}
            state.write_text(json.dumps(found))
        mine.touch()
    try:
        yield dict(found["fields"])
    finally:
        with _locked(lock):
            mine.unlink()
        if process is not None:
            _stop_as_starter(process, state, lock, leases)
        else:
            _stop_if_last(found["pid"], state, lock, leases)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    if pid is None:
        return False
    try:
        return not Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return False


def _holders(leases: Path) -> list[Path]:
    return [p for p in leases.iterdir() if _alive(int(p.name))]


def _stop_as_starter(
    process: subprocess.Popen[bytes], state: Path, lock: Path, leases: Path
) -> None:
    deadline = time.monotonic() + HANDOVER
    while True:
        with _locked(lock):
            if not _holders(leases):
                state.unlink(missing_ok=True)
                break
            if time.monotonic() > deadline:  # the last holder stops it
                found = json.loads(state.read_text())
                state.write_text(json.dumps({**found, "owner": None}))
                return
        time.sleep(1.0)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _stop_if_last(pid: int, state: Path, lock: Path, leases: Path) -> None:
    with _locked(lock):
        found = json.loads(state.read_text()) if state.exists() else None
        if found is None or found["pid"] != pid or _holders(leases) or _alive(found["owner"]):
            return  # another holder, or its starter, stops it
        state.unlink()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
