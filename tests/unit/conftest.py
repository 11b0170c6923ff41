"""Fixtures of the unit tests: the environment a `klein` command runs in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from klein_widget.emulator import RunningEmulator
from tests.conftest import FAKE_KEY


@pytest.fixture
def env(live_emulator: RunningEmulator, tmp_path: Path) -> dict[str, str]:
    """``klein``'s environment: the loopback emulator, a test key, a gallery of its own."""
    return {
        **os.environ,
        "WAVESPEED_BASE_URL": live_emulator.base_url,
        "WAVESPEED_API_KEY": FAKE_KEY,
        "KLEIN_GALLERY": str(tmp_path / "gallery"),
    }
