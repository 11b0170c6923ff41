"""The round-trip knob (``network_delay``, ``connection_round_trips``) and account tiers.

Times are only ever checked from below: a deliberate sleep sets a floor, while a busy
machine may add any amount on top.
"""

from __future__ import annotations

import time

import httpx
import pytest

from klein_widget.emulator import Emulator, create_app, start
from klein_widget.emulator._settings import TIERS
from klein_widget.emulator.cli import build_parser
from tests.stopping import stopped_later

from .conftest import AUTH, SUBMIT, body


def _timed(http: httpx.Client, method: str, url: str, **kwargs: object) -> float:
    began = time.perf_counter()
    http.request(method, url, **kwargs).raise_for_status()  # type: ignore[arg-type]
    return time.perf_counter() - began


def test_each_request_over_loopback_costs_at_least_one_round_trip() -> None:
    with (
        stopped_later(start(inference_time=0.0, network_delay=0.2)) as live,
        httpx.Client(headers=AUTH) as http,
    ):
        assert live.emulator.network_delay == 0.2
        http.get(f"{live.base_url}/")  # the connection is open before we time
        assert _timed(http, "GET", f"{live.base_url}/") >= 0.2
        assert _timed(http, "POST", f"{live.base_url}{SUBMIT}", json=body()) >= 0.2


def test_a_sync_answer_costs_the_inference_plus_one_round_trip() -> None:
    with (
        stopped_later(start(inference_time=0.1, network_delay=0.2)) as live,
        httpx.Client(headers=AUTH) as http,
    ):
        http.get(f"{live.base_url}/")
        url = f"{live.base_url}{SUBMIT}"
        elapsed = _timed(http, "POST", url, json=body(enable_sync_mode=True))
    assert elapsed >= 0.1 + 0.2
    (task,) = live.emulator.tasks.values()
    assert task.finish - task.start == pytest.approx(0.1)


def test_the_delay_changes_at_run_time_and_zero_adds_nothing_deliberate() -> None:
    with stopped_later(start(inference_time=0.0)) as live, httpx.Client() as http:
        assert live.emulator.network_delay == 0.0
        live.emulator.configure(network_delay=0.3)
        assert _timed(http, "GET", f"{live.base_url}/") >= 0.3
    assert live.emulator.count("GET", "/") == 1


def test_a_new_connection_pays_its_handshake_round_trips_once() -> None:
    with (
        stopped_later(
            start(inference_time=0.0, network_delay=0.1, connection_round_trips=2)
        ) as live,
        httpx.Client() as http,
    ):
        first = _timed(http, "GET", f"{live.base_url}/")  # opens the connection
        second = _timed(http, "GET", f"{live.base_url}/")  # kept alive
    assert first >= 0.1 * (1 + 2)
    assert second >= 0.1


async def test_in_process_the_delay_applies_too() -> None:
    app = create_app(inference_time=0.0, network_delay=0.2, connection_round_trips=3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        began = time.perf_counter()
        data = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
        elapsed = time.perf_counter() - began
    assert data["status"] == "completed"
    assert elapsed >= 0.2  # no connections in-process, so no handshake is charged


@pytest.mark.parametrize(
    ("tier", "rate_limit", "concurrency"),
    [("bronze", 2, 2), ("silver", 500, 300), ("gold", 3000, 3000), ("ultra", 5000, 10000)],
)
def test_a_tier_sets_wavespeeds_public_limits(tier: str, rate_limit: int, concurrency: int) -> None:
    emu: Emulator = create_app(tier=tier).state.emulator
    assert (emu.rate_limit, emu.concurrency, emu.rate_window) == (rate_limit, concurrency, 60.0)
    assert (TIERS[tier].rate_limit, TIERS[tier].concurrency) == (rate_limit, concurrency)


def test_explicit_limits_win_over_the_tier() -> None:
    emu: Emulator = create_app(tier="gold", concurrency=4).state.emulator
    assert (emu.rate_limit, emu.concurrency) == (3000, 4)
    emu.configure(tier="bronze", rate_limit=10)
    assert (emu.rate_limit, emu.concurrency) == (10, 2)


def test_bad_knobs_are_refused() -> None:
    with pytest.raises(ValueError, match="tier must be one of bronze, silver, gold, ultra"):
        create_app(tier="platinum")
    with pytest.raises(ValueError, match="network_delay must be a number >= 0"):
        create_app(network_delay=-0.1)
    with pytest.raises(ValueError, match="connection_round_trips must be a whole number"):
        Emulator().configure(connection_round_trips=1.5)


async def test_bronze_refuses_the_third_image_in_a_minute() -> None:
    app = create_app(inference_time=5.0, tier="bronze")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        answers = [await http.post(SUBMIT, json=body(seed=i)) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 59
    assert app.state.emulator.accepted == 2


def test_cli_flags_for_the_network_and_the_tier() -> None:
    args = build_parser().parse_args(
        ["--tier", "silver", "--network-delay", "0.05", "--connection-round-trips", "2"]
    )
    assert (args.tier, args.network_delay, args.connection_round_trips) == ("silver", 0.05, 2)
    defaults = build_parser().parse_args([])
    assert (defaults.tier, defaults.network_delay, defaults.connection_round_trips) == (None, 0, 0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--tier", "platinum"])
