"""A simulated network: every request and answer spends half a round trip in flight.

With ``network_delay=rtt`` (seconds of round trip), `Latency` holds each request for
``rtt / 2`` before the app sees it (the request travelling to the server, its body
included) and each answer for ``rtt / 2`` before its first byte is sent (the answer
travelling back): one request-response costs one round trip on top of the server's own
time, as over the internet. A sync-mode POST therefore answers ``inference + rtt`` after
it was sent, and a task's clock starts when its request "arrives", ``rtt / 2`` after it
left the client.

New connections: by default a connection costs nothing extra, which matches a client
that keeps its connections alive (after the first request). With
``connection_round_trips=n``, the first request on each new connection also waits ``n``
round trips before the app sees it, standing for the handshakes a real connection needs
first (1 for TCP, 2 for TCP + TLS 1.3, 3 for TCP + TLS 1.2). The server tells the
middleware which request opens a connection (`CONNECTION_EXTENSION`); in-process
(``ASGITransport``, ``TestClient``) there are no connections, so no handshake is charged.

Not modelled: bandwidth (a large answer arrives as fast as loopback carries it), loss,
jitter, and TCP slow start.

Example:
    >>> from klein_widget.emulator import create_app
    >>> create_app(network_delay=0.05).state.emulator.network_delay
    0.05
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from klein_widget.emulator._state import Emulator

__all__ = ["CONNECTION_EXTENSION", "Latency"]

CONNECTION_EXTENSION = "klein_widget.emulator.connection_request"
"""ASGI scope extension set by the server: this request's index on its connection (0 first)."""


class Latency:
    """Middleware: delays each request and each answer by half the emulator's round trip."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rtt = self.emulator.network_delay
        handshakes = self.emulator.connection_round_trips
        if scope["type"] != "http" or (rtt <= 0):
            await self.app(scope, receive, send)
            return
        index = (scope.get("extensions") or {}).get(CONNECTION_EXTENSION)
        inbound = rtt / 2 + (rtt * handshakes if index == 0 else 0.0)
        await asyncio.sleep(inbound)

        async def send_late(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(rtt / 2)
            await send(message)

        await self.app(scope, receive, send_late)
