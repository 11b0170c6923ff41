"""Helpers for the gallery, resume, batch and budget tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from klein_widget import KleinClient
from tests.conftest import FAKE_KEY, TEST_URL, fast_options

SUBMIT_PATH = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
RESULT_PATH = "/api/v3/predictions/*/result"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_attached_packs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Packs attached to the process by one test never reach another."""
    from klein_widget.store._attached import PACKS_ENV, detach_packs

    monkeypatch.delenv(PACKS_ENV, raising=False)
    detach_packs()
    yield
    detach_packs()


@pytest.fixture
def make_sync(emulator_app: Starlette) -> Iterator[Any]:
    """``make_sync(**options)``: another blocking client on the in-process emulator."""
    opened: list[TestClient] = []

    def make(**options: Any) -> KleinClient:
        http = TestClient(emulator_app, base_url=TEST_URL)
        http.__enter__()
        opened.append(http)
        return KleinClient(FAKE_KEY, TEST_URL, http_client=http, **fast_options(**options))

    yield make
    for http in opened:
        http.__exit__(None, None, None)


def run_python(
    code: str, *, env: dict[str, str], stdin: Any = subprocess.DEVNULL, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (a new "kernel") with the package importable."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
