"""Issue 21's last rule: "not yet known" never passes a stand-in off as real.

A server on this machine counts as the emulator for the spend line until it says otherwise,
but the free re-run lookup takes a stored stand-in only once the server has said
``"simulated": true``. Until then it may be a gateway in front of WaveSpeed on the same
machine, which answers ``"simulated": false``: its first fixed-seed request is sent and
paid, never answered by the emulator's stand-in. Both clients, against the emulator and
a real-acting emulator (``create_app(simulated=False)``, as a gateway in front of WaveSpeed
answers), each on a loopback address, served in-process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from klein_widget import AsyncKleinClient, Gallery, GenerationRequest, KleinClient
from klein_widget.emulator import create_app
from tests.conftest import FAKE_KEY, fast_options

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
EMULATOR_URL = "http://127.0.0.1:8765"
GATEWAY_URL = "http://127.0.0.1:8766"  # a gateway in front of WaveSpeed, on this machine
BOAT = GenerationRequest("a paper boat on a puddle", width=256, height=256, seed=7)
ROBOT = GenerationRequest("a tin robot, golden hour", width=256, height=256, seed=8)


def sent(app: Starlette) -> int:
    count: int = app.state.emulator.count("POST", SUBMIT)
    return count


@pytest.fixture
def emulator() -> Starlette:
    return create_app(inference_time=0.01)


@pytest.fixture
def gateway() -> Starlette:
    return create_app(inference_time=0.01, simulated=False)


@pytest.fixture
def gallery(tmp_path: Path, emulator: Starlette) -> Gallery:
    """A gallery holding the emulator's stand-ins for `BOAT` and `ROBOT`."""
    folder = Gallery(tmp_path / "gallery")
    with ExitStack() as stack:
        rehearsal = sync_client(stack, emulator, EMULATOR_URL, folder)
        assert [rehearsal.generate(r).simulated for r in (BOAT, ROBOT)] == [True, True]
    assert sent(emulator) == 2
    return folder


def sync_client(stack: ExitStack, app: Starlette, url: str, gallery: Gallery) -> KleinClient:
    http = stack.enter_context(TestClient(app, base_url=url))
    return stack.enter_context(
        KleinClient(FAKE_KEY, url, http_client=http, gallery=gallery, **fast_options())
    )


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as opened:
        yield opened


def test_a_loopback_gateway_not_yet_heard_gets_no_stand_in(
    stack: ExitStack, gateway: Starlette, gallery: Gallery
) -> None:
    client = sync_client(stack, gateway, GATEWAY_URL, gallery)
    assert client.server_simulates  # the spend line's rule stays: loopback, not yet heard
    assert not client.stand_ins_answer  # but no stand-in answers it yet

    first = client.generate(BOAT)
    assert sent(gateway) == 1  # sent and paid: the stand-in was passed over
    assert not first.from_gallery
    assert (first.simulated, first.service) == (False, "127.0.0.1:8766")
    assert first.passed_over == "emulator @127.0.0.1:8765"
    assert not client.server_simulates  # it said "simulated": false

    again = client.generate(BOAT)  # its own real image: free from now on
    robot = client.generate(ROBOT)  # and the other stand-in is passed over too
    assert again.from_gallery
    assert not again.simulated
    assert again.task_id == first.task_id
    assert not robot.from_gallery
    assert not robot.simulated
    assert sent(gateway) == 2


def test_the_emulator_takes_stand_ins_once_it_has_said_so(
    stack: ExitStack, emulator: Starlette, gallery: Gallery
) -> None:
    client = sync_client(stack, emulator, EMULATOR_URL, gallery)
    assert client.server_simulates
    assert not client.stand_ins_answer
    first = client.generate(BOAT)  # not yet known: one more stand-in, simulated (free)
    assert not first.from_gallery
    assert first.simulated
    assert first.passed_over == ""  # the server simulates: nothing was replaced
    assert client.stand_ins_answer  # it said "simulated": true

    robot = client.generate(ROBOT)
    assert robot.from_gallery
    assert robot.simulated
    assert sent(emulator) == 3  # the gallery's two, and the first one of this client


def test_a_batch_to_a_gateway_not_yet_heard_is_all_sent(
    stack: ExitStack, gateway: Starlette, gallery: Gallery
) -> None:
    # A batch is planned before any answer: no stand-in may answer any of it.
    client = sync_client(stack, gateway, GATEWAY_URL, gallery)
    result = client.generate_many([BOAT, ROBOT])
    assert sent(gateway) == 2
    assert [g.simulated for g in result.generations] == [False, False]
    assert not any(g.from_gallery for g in result.generations)
    rerun = client.generate_many([BOAT, ROBOT])
    assert sent(gateway) == 2
    assert all(g.from_gallery and not g.simulated for g in rerun.generations)


async def test_the_async_client_follows_the_same_rule(
    gateway: Starlette, emulator: Starlette, gallery: Gallery
) -> None:
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url=GATEWAY_URL) as http,
        AsyncKleinClient(
            FAKE_KEY, GATEWAY_URL, http_client=http, gallery=gallery, **fast_options()
        ) as client,
    ):
        first = await client.generate(BOAT)
        again = await client.generate(BOAT)
    assert not first.from_gallery
    assert not first.simulated
    assert again.from_gallery
    assert again.task_id == first.task_id
    assert sent(gateway) == 1
