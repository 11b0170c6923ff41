"""Fixtures of the lessons' tests: a loopback emulator per test and a client on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from klein_widget import KleinClient
from klein_widget.emulator import RunningEmulator, start
from tests.conftest import FAKE_KEY, fast_options
from tests.stopping import stopped_later


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    """A fresh loopback emulator per test (its log and fault script are per test)."""
    with stopped_later(start(port=0, inference_time=0.05)) as running:
        yield running


@pytest.fixture
def loop_client(emu: RunningEmulator) -> Iterator[KleinClient]:
    """A blocking client on ``emu`` with quick polls."""
    with KleinClient(FAKE_KEY, emu.base_url, **fast_options()) as client:
        yield client
