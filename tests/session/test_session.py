"""The shared session: connect(), use_emulator(), set_api_key() and the shared ledger/history."""

from __future__ import annotations

import os
from typing import Any

import pytest

import klein_widget
from klein_widget import PollSchedule, Prediction


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


def test_the_emulators_spend_stays_simulated_after_a_real_key() -> None:
    klein_widget.use_emulator()
    session = klein_widget.session()
    session.configure(poll=PollSchedule(fast=0.005, cap=0.05))
    for seed in (1, 2):
        session.client().generate("a fox", width=256, height=256, seed=seed)
    assert session.spend.price == "$0.016 simulated"
    klein_widget.set_api_key("wsk-real-key-0000000000")
    # The session's ledger goes on: what the emulator "charged" is not read as a bill.
    assert (session.spend.dollars, session.spend.billed) == (0.016, 0.0)
    assert session.spend.price == "$0.016 simulated"
    # The rule for what comes next: a server that does not say (WaveSpeed) and is not on
    # this machine bills for real; a server that says so is believed.
    client = session.client()
    assert client.base_url == "https://api.wavespeed.ai"
    assert client._simulates(None) is False
    assert client._simulates(Prediction(id="t", simulated=True)) is True


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


@pytest.mark.parametrize(
    ("knob", "value", "seen"),
    [
        ("inference_time", 0.05, lambda e: e.inference_time),
        ("concurrency", 3, lambda e: e.concurrency),
        ("rate_limit", 7, lambda e: e.rate_limit),
        ("rate_window", 2.0, lambda e: e.rate_window),
        ("sync_timeout", 4.0, lambda e: e.sync_timeout),
        ("queue_time", 0.01, lambda e: e.queue_time),
        ("seed", 11, lambda e: e.seed),
        ("max_body_bytes", 4096, lambda e: e.max_body_bytes),
        ("fail_rate", 1.0, lambda e: e.faults.fail_rate),
        ("drop_rate", 0.5, lambda e: e.faults.drop_rate),
        ("result_error_rate", 0.25, lambda e: e.faults.result_error_rate),
        ("sync_timeout_rate", 0.5, lambda e: e.faults.sync_timeout_rate),
        ("nsfw_rate", 1.0, lambda e: e.faults.nsfw_rate),
    ],
)
def test_every_use_emulator_knob_reaches_the_emulator(knob: str, value: object, seen: Any) -> None:
    running = klein_widget.use_emulator(quiet=True, **{knob: value})
    assert seen(running.emulator) == value


def test_fail_rate_makes_every_task_fail() -> None:
    klein_widget.use_emulator(quiet=True, fail_rate=1.0, inference_time=0.01)
    session = klein_widget.session()
    session.configure(poll=PollSchedule(fast=0.005, cap=0.05))
    with pytest.raises(klein_widget.GenerationFailedError):
        session.client().generate("a fox", width=256, height=256, seed=1)


def test_a_bad_knob_leaves_the_running_emulator_alone() -> None:
    first = klein_widget.use_emulator(quiet=True)
    with pytest.raises(ValueError, match="fail_rate"):
        klein_widget.use_emulator(quiet=True, fail_rate=2.0)
    with pytest.raises(ValueError, match="unknown emulator knob"):
        klein_widget.use_emulator(quiet=True, no_such_knob=1)
    assert klein_widget.session().emulator is first
    assert klein_widget.session().base_url == first.base_url


def test_a_client_needs_no_key_for_a_local_server(monkeypatch: pytest.MonkeyPatch) -> None:
    running = klein_widget.use_emulator(quiet=True)
    monkeypatch.delenv("WAVESPEED_API_KEY")  # use_emulator sets a stand-in for snippets
    client = klein_widget.KleinClient(
        api_key=None, base_url=running.base_url, poll=PollSchedule(fast=0.005, cap=0.05)
    )
    assert not client.key_missing
    assert client.generate("a fox", width=256, height=256, seed=1).image


def test_a_server_that_wants_a_key_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    running = klein_widget.use_emulator(quiet=True, api_key="wsk-the-servers-own-key")
    monkeypatch.delenv("WAVESPEED_API_KEY")
    client = klein_widget.KleinClient(api_key=None, base_url=running.base_url)
    with pytest.raises(klein_widget.AuthenticationError) as caught:
        client.generate("a fox", width=256, height=256, seed=1)
    # "Missing Authorization header" is the emulator's answer to a request without one.
    assert "Missing Authorization header" in caught.value.message
    assert "none is set" in caught.value.message
    assert "WAVESPEED_API_KEY" in caught.value.message
    assert running.emulator.accepted == 0


def test_wavespeed_itself_needs_a_key_before_anything_is_sent() -> None:
    client = klein_widget.KleinClient(api_key=None, base_url="https://api.wavespeed.ai")
    assert client.key_missing
    with pytest.raises(klein_widget.AuthenticationError, match="nothing was sent"):
        client.generate("a fox")


def test_the_emulators_time_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from klein_widget._connect import EMULATOR_TIME_ENV

    monkeypatch.setenv(EMULATOR_TIME_ENV, "0.05")
    assert klein_widget.use_emulator(quiet=True).emulator.inference_time == 0.05
    given = klein_widget.use_emulator(quiet=True, inference_time=0.02)  # a knob wins
    assert given.emulator.inference_time == 0.02
    monkeypatch.setenv(EMULATOR_TIME_ENV, "fast")
    with pytest.raises(ValueError, match=EMULATOR_TIME_ENV):
        klein_widget.use_emulator(quiet=True, fail_rate=0.5)
    assert klein_widget.session().emulator is given  # a bad value leaves it running


def test_the_emulator_a_session_started_answers_re_runs_from_the_first_call() -> None:
    """A new kernel's first fixed-seed request to the emulator its session started comes
    from the gallery: the session knows its server simulates before it has answered (a
    loopback server nobody vouches for gets only real images: issue 21)."""
    klein_widget.use_emulator(quiet=True, inference_time=0.01)
    session = klein_widget.session()
    session.configure(poll=PollSchedule(fast=0.005, cap=0.05))
    made = session.client().generate("a fox", width=256, height=256, seed=5)
    session.configure(poll=PollSchedule(fast=0.005, cap=0.06))  # new clients: nothing heard
    again = session.client()
    assert again.stand_ins_answer
    reused = again.generate("a fox", width=256, height=256, seed=5)
    assert reused.from_gallery
    assert reused.task_id == made.task_id
    plain = klein_widget.KleinClient()  # one the session did not make: not yet heard from
    assert plain.base_url == session.base_url
    assert not plain.stand_ins_answer
