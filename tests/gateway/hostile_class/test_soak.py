"""The soak: ``klein gateway serve`` in a child process under ``ulimit -n 256`` (macOS's
default), held by more idle sockets than it may open files, while students keep asking.
They are served, the gateway says at start that its file limit is low, and its log stays
quiet (no "Too many open files" flood). Loopback only; bounded in count and time."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, closing
from pathlib import Path

import httpx
import pytest

from tests.gateway.conftest import SUBMIT, KleinRun, bearer, body

IDLE = 400  # sockets held open: more than the child may open files
ROUNDS = 20  # student requests made while they are held
SERVED = 10.0  # seconds each may take


@pytest.mark.slow
def test_a_low_file_limit_and_idle_sockets_still_serve_students(
    tmp_path: Path, klein_here: KleinRun
) -> None:
    db = str(tmp_path / "class.sqlite3")
    added = klein_here("add-student", "ada", "--budget", "5.00", "--db", db)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    serve = shlex.join([sys.executable, "-m", "klein_widget", "gateway", "serve", "--db", db,
                        "--port", "0", "--upstream", "emulator"])  # fmt: skip
    log = (tmp_path / "gateway.log").open("w+")
    child = subprocess.Popen(["bash", "-c", f"ulimit -n 256; exec {serve}"], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=log, text=True)  # fmt: skip
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline() for _ in range(6)]
        assert any("may open only 256 files" in line for line in lines), lines
        base = next(line for line in lines if "listening on" in line).split()[4]
        host, port = base.removeprefix("http://").split(":")
        with ExitStack() as stack, httpx.Client(timeout=SERVED) as client:
            for _ in range(IDLE):
                with_timeout = socket.create_connection((host, int(port)), timeout=SERVED)
                stack.enter_context(closing(with_timeout))
            for i in range(ROUNDS):
                answer = client.post(base + SUBMIT, json=body(seed=i), headers=bearer(token))
                assert answer.status_code == 200, answer.text
        time.sleep(0.5)
        assert child.poll() is None  # still up
        log.flush()
        assert log.tell() < 10_000, (tmp_path / "gateway.log").read_text()[:2000]
    finally:
        child.terminate()
        child.wait(20)
        log.close()
