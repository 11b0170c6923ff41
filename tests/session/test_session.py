"""The shared session: connect(), use_emulator(), set_api_key() and the shared ledger/history."""

from __future__ import annotations

import os

import pytest

import klein_widget
from klein_widget import PollSchedule


def test_connect_without_key_starts_the_emulator_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = klein_widget.connect()

    assert url.startswith("http://127.0.0.1:")
    assert "local emulator" in capsys.readouterr().out
    session = klein_widget.session()
    assert session.using_emulator
    assert os.environ["WAVESPEED_BASE_URL"] == url
    session.configure(poll=PollSchedule(fast=0.005, cap=0.05))
    gen = session.client().generate("a fox", width=256, height=256, seed=1)
    assert gen.image
    assert list(session.history) == [gen]
    assert session.spend.images == 1


def test_connect_with_a_key_uses_the_configured_api(
    api_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert klein_widget.connect() == "https://api.wavespeed.ai"
    assert not klein_widget.session().using_emulator
    out = capsys.readouterr().out
    assert "api.wavespeed.ai" in out
    assert api_key not in out


def test_set_api_key_leaves_the_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    klein_widget.use_emulator()
    running = klein_widget.session().emulator
    assert running is not None

    klein_widget.set_api_key("wsk-real-key-0000000000")

    session = klein_widget.session()
    assert not session.using_emulator
    assert session.emulator is None
    assert session.base_url == "https://api.wavespeed.ai"
    assert "WAVESPEED_BASE_URL" not in os.environ
    out = capsys.readouterr().out
    assert "api.wavespeed.ai" in out
    assert "wsk-real-key" not in out


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        klein_widget.set_api_key("   ")


async def test_sync_and_async_shared_clients_share_ledger_and_history() -> None:
    klein_widget.use_emulator(quiet=True, inference_time=0.02)
    session = klein_widget.session()
    session.configure(poll=PollSchedule(fast=0.005, cap=0.05))
    seen: list[int] = []
    unsubscribe = session.subscribe(lambda gen: seen.append(gen.seed))

    session.client().generate("a fox", width=256, height=256, seed=1)
    await session.async_client().generate("a fox", width=256, height=256, seed=2)
    unsubscribe()
    session.client().generate("a fox", width=256, height=256, seed=3)

    assert seen == [1, 2]
    assert [g.seed for g in session.history] == [1, 2, 3]
    assert session.spend.images == 3
    assert session.client().spend == session.async_client().spend
