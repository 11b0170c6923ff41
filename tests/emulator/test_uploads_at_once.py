"""An edit's distinct local images are uploaded at the same time on the async client (one
by one on the blocking one), each once, in the order the edit sends them; a failed upload
stops the others before the error is raised, and nothing is submitted."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from klein_widget.client._exceptions import KleinError
from klein_widget.emulator import create_app
from klein_widget.emulator._render import render_png
from tests.emulator.kinds import KEY, Make, make

__all__ = ["make"]  # the fixture (tests/emulator/kinds.py), used by name

TICKET = "/api/v3/media/uploads"
EDIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/edit"
IMAGES = [render_png(f"reference {i}", i, 96, 64) for i in range(4)]


class InFlight:
    """Middleware: how many upload requests (tickets and PUTs) the emulator holds at once
    at most, and refuses the PUT of the bytes in ``refuse`` (400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.now = self.peak = 0
        self.refuse: bytes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == TICKET or path.startswith("/emulator/up")):
            await self.app(scope, receive, send)
            return
        body = b""
        if scope["method"] == "PUT":
            body, receive = await self._read(receive)
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            if self.refuse is not None and body == self.refuse:
                await send({"type": "http.response.start", "status": 400, "headers": []})
                await send({"type": "http.response.body", "body": b"refused"})
                return
            await self.app(scope, receive, send)
        finally:
            self.now -= 1

    @staticmethod
    async def _read(receive: Receive) -> tuple[bytes, Receive]:
        parts: list[bytes] = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(parts)

        async def again() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        return body, again


@pytest.fixture
def app() -> Starlette:
    """The emulator with a round trip, so uploads sent together overlap there."""
    made = create_app(inference_time=0.01, api_key=KEY, network_delay=0.05)
    made.add_middleware(InFlight)
    return made


def in_flight(app: Starlette) -> InFlight:
    """The `InFlight` layer of ``app`` (built on its first request)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, InFlight):
        layer = layer.app
    return layer


async def test_an_edits_uploads_run_at_once_only_when_awaited(
    make: Make, app: Starlette, request: pytest.FixtureRequest
) -> None:
    emu = app.state.emulator
    client = make(app)

    urls = await client.upload(IMAGES, timeout=20)  # four distinct local images

    kind = request.node.callspec.params["make"]
    assert in_flight(app).peak == (4 if kind == "async" else 1)
    assert emu.count("POST", TICKET) == 4
    assert len(set(urls)) == 4
    cdn = "https://cdn.example.com/cat.png"
    again = await client.upload([IMAGES[2], cdn, IMAGES[0], IMAGES[2]], timeout=20)
    assert again == (urls[2], cdn, urls[0], urls[2])  # in order, each uploaded once
    assert emu.count("POST", TICKET) == 4


async def test_a_refused_upload_stops_the_others_and_nothing_is_submitted(
    make: Make, app: Starlette
) -> None:
    emu = app.state.emulator
    client = make(app)
    await client.upload([IMAGES[3]], timeout=20)  # builds the middleware stack
    layer = in_flight(app)
    layer.refuse = IMAGES[1]

    with pytest.raises(KleinError, match="Uploading reference image 2 failed"):
        await client.call("edit", "make it night", IMAGES, seed=3, timeout=20)

    assert layer.now == 0  # no upload outlives the call
    assert emu.count("POST", EDIT) == 0
