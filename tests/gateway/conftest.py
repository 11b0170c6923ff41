"""Fixtures for the gateway's tests: a gateway over loopback whose upstream is the
package's emulator (in-process), students with tokens, and clients pointed at it."""

from __future__ import annotations

import resource
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from klein_widget import KleinClient
from klein_widget.cli import main as klein_main
from klein_widget.emulator import Emulator, RunningEmulator
from klein_widget.emulator import start as start_emulator
from klein_widget.gateway import RunningGateway, start
from tests.conftest import fast_options
from tests.gateway import loopback
from tests.stopping import stopped_later

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
ENHANCE = "/api/v3/wavespeed-ai/prompt-optimizer"
FAST = 0.02  # the emulator's inference time where timing is not the subject
TEACHER_KEY = "wsk-CANARY-family-5e0b7c2d91"  # a canary: no answer may hold it
POLL_CAP = 0.1  # seconds between polls of a task, at most (each poll is a request)


def upstream_of(running: RunningGateway) -> Emulator:
    """The in-process emulator behind a gateway."""
    app: Any = running.gateway.upstream.app
    emulator: Emulator = app.state.emulator
    return emulator


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def body(prompt: str = "a red fox in the snow", **fields: Any) -> dict[str, Any]:
    """A submit body with a concrete seed and a small size."""
    return {"prompt": prompt, "size": "320*256", "seed": 42, **fields}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    """A gateway on loopback; upstream: the emulator in-process (20 ms per image)."""
    db = tmp_path / "class.sqlite3"
    with stopped_later(start(db, upstream="emulator", emulator_inference_time=FAST)) as gw:
        yield gw


@pytest.fixture
def loopback_upstream() -> Iterator[RunningEmulator]:
    """The emulator over loopback (its uploads' URLs reachable), refusing any key but the
    teacher's (`TEACHER_KEY`)."""
    with stopped_later(start_emulator(inference_time=FAST, api_key=TEACHER_KEY)) as emu:
        yield emu


@pytest.fixture
def class_gw(tmp_path: Path, loopback_upstream: RunningEmulator) -> Iterator[RunningGateway]:
    """A gateway in front of `loopback_upstream`, with the teacher's key."""
    url = loopback_upstream.base_url
    with stopped_later(start(tmp_path / "class.sqlite3", upstream=url, api_key=TEACHER_KEY)) as gw:
        yield gw


@pytest.fixture
def ada(gateway: RunningGateway) -> str:
    """Ada's token ($2.00)."""
    return gateway.gateway.db.add_student("ada", 2000)


@pytest.fixture
def bo(gateway: RunningGateway) -> str:
    """Bo's token ($2.00)."""
    return gateway.gateway.db.add_student("bo", 2000)


def student_client(gateway: RunningGateway, token: str) -> KleinClient:
    """A klein client as a student sets it up: base URL = the gateway, key = the token."""
    return KleinClient(token, gateway.base_url, gallery=False, **fast_options())


def wait_result(base: str, token: str, task_id: str, limit: float = 10.0) -> dict[str, Any]:
    """Poll a task on the gateway until it is terminal; return its data."""
    import time

    deadline = time.monotonic() + limit
    pause = 0.01
    while time.monotonic() < deadline:
        r = loopback.get(f"{base}/api/v3/predictions/{task_id}/result", headers=bearer(token))
        data: dict[str, Any] = r.json()["data"]
        if data["status"] in ("completed", "failed"):
            return data
        time.sleep(pause)
        pause = min(POLL_CAP, pause * 1.5)  # quick for a quick task, no busy loop for a slow one
    raise AssertionError(f"task {task_id} did not finish in {limit} s")


KleinRun = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def klein_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> KleinRun:
    """``klein gateway ARGS`` run in this process, through the entry point the console
    script calls: its exit code, stdout and stderr, as `subprocess.run` gives them. A new
    Python per call costs half a CPU-second; each command family keeps one test that runs
    the real process (exit status, output through a pipe)."""
    monkeypatch.chdir(tmp_path)
    files = resource.getrlimit(resource.RLIMIT_NOFILE)  # `check` raises it: put back

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        try:
            code = klein_main(["gateway", *args])
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, files)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["klein", "gateway", *args], code, out, err)

    return run
