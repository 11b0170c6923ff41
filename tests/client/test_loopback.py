"""The clients over real sockets: configuration from the environment, dropped connections."""

from __future__ import annotations

import asyncio

import pytest

from klein_widget import (
    APIConnectionError,
    AsyncKleinClient,
    KleinClient,
    PollSchedule,
    RetryPolicy,
)
from klein_widget.emulator import RunningEmulator
from tests.conftest import FAKE_KEY

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
RESULT = "/api/v3/predictions/*/result"
FAST = {"poll": PollSchedule(fast=0.005, cap=0.05), "retry": RetryPolicy(base_delay=0.001)}


def test_client_reads_key_and_base_url_from_environment(live_env: str) -> None:
    with KleinClient(**FAST) as client:
        assert client.base_url == live_env
        assert client.has_api_key
        gen = client.generate("a fox", width=256, height=256, seed=8)
    assert gen.seed == 8


def test_explicit_arguments_win_over_environment(
    live_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVESPEED_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    with KleinClient(FAKE_KEY, live_emulator.base_url + "/", **FAST) as client:
        assert client.base_url == live_emulator.base_url  # trailing slash dropped
        assert client.generate("a fox", width=256, height=256, seed=8).image


def test_default_base_url_is_wavespeed() -> None:
    assert KleinClient(FAKE_KEY).base_url == "https://api.wavespeed.ai"


def test_repr_never_shows_the_key(live_env: str) -> None:
    client = KleinClient()
    assert FAKE_KEY not in repr(client)
    assert "api_key=set" in repr(client)
    assert "api_key=missing" in repr(KleinClient(api_key=""))


def test_dropped_result_connections_are_retried(
    live_env: str, live_emulator: RunningEmulator
) -> None:
    emulator = live_emulator.emulator
    before = emulator.count("POST", SUBMIT)
    emulator.script("result", "drop", "reset")
    with KleinClient(**FAST) as client:
        gen = client.generate("a fox", width=256, height=256, seed=8)
    assert gen.image
    assert emulator.count("POST", SUBMIT) == before + 1


def test_dropped_submit_connection_is_not_retried(
    live_env: str, live_emulator: RunningEmulator
) -> None:
    emulator = live_emulator.emulator
    before = emulator.count("POST", SUBMIT)
    emulator.script("submit", "drop")
    with KleinClient(**FAST) as client, pytest.raises(APIConnectionError) as caught:
        client.generate("a fox", width=256, height=256, seed=8)

    assert caught.value.maybe_accepted is True
    assert "not sent again" in str(caught.value)
    assert emulator.count("POST", SUBMIT) == before + 1
    assert client.spend.images == 1  # counted: it may have been billed


def test_unreachable_server_is_a_connection_error_and_not_billed(free_port: int) -> None:
    with (
        KleinClient(
            FAKE_KEY,
            f"http://127.0.0.1:{free_port}",
            retry=RetryPolicy(max_attempts=2, base_delay=0),
        ) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.generate("a fox", width=256, height=256, seed=8)
    assert caught.value.maybe_accepted is False
    assert client.spend.images == 0


async def test_async_client_runs_many_generations_concurrently(live_env: str) -> None:
    async with AsyncKleinClient(**FAST) as client:
        gens = await asyncio.gather(
            *(client.generate("a fox", width=256, height=256, seed=s) for s in range(8))
        )
    assert [g.seed for g in gens] == list(range(8))
    assert len({g.image for g in gens}) == 8
    assert client.spend.images == 8


@pytest.fixture
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
