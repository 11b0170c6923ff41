"""The emulator's own HTTP plumbing: auth, injected faults, logging, hang-ups and the
simulated network (what both servers share, `Problem`, the envelope and JSON bodies, is
in `klein_widget.serving`).

Dropped connections: over a server started by `start` or the CLI, the socket is closed
("drop") or reset ("reset") with no answer, so httpx raises ``RemoteProtocolError`` /
``ReadError`` and ``requests`` a ``ConnectionError``. In-process (``httpx.ASGITransport``,
Starlette's ``TestClient``) there is no socket: the app raises the error httpx would have
raised over one (``httpx.RemoteProtocolError`` / ``httpx.ReadError``), which both
transports pass to the caller (with ``raise_app_exceptions=False`` it becomes a 500).

The simulated network (`Latency`): with ``network_delay=rtt`` (seconds of round trip),
each request is held ``rtt / 2`` before the app sees it (the request travelling to the
server, its body included) and each answer ``rtt / 2`` before its first byte is sent (the
answer travelling back): one request-response costs one round trip on top of the
server's own time, as over the internet. A sync-mode POST therefore answers ``inference
+ rtt`` after it was sent, and a task's clock starts when its request "arrives", ``rtt /
2`` after it left the client.

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
    >>> fault_response(429).headers["retry-after"]
    '1'
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from klein_widget.emulator._faults import Action
from klein_widget.serving._http import Problem, bearer_token, error_response

if TYPE_CHECKING:  # _state holds the upload store, whose routes use this module
    from klein_widget.emulator._state import Emulator

__all__ = [
    "CONNECTION_EXTENSION",
    "DROP_EXTENSION",
    "Gate",
    "Injected",
    "Latency",
    "act",
    "authorize",
    "emulator_of",
    "fault_response",
]

DROP_EXTENSION = "klein_widget.emulator.hang_up"
"""ASGI scope extension: a ``callable(how)`` that closes ("drop") or resets the socket."""
CONNECTION_EXTENSION = "klein_widget.emulator.connection_request"
"""ASGI scope extension set by the server: this request's index on its connection (0 first)."""
_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


class Injected(Exception):
    """An injected fault in place of the route's answer: an error status, or no answer at
    all ("drop", "reset"). Raised by `act`, performed by `Gate`."""

    def __init__(self, action: Action) -> None:
        super().__init__(action)
        self.action = action


def _gateway_page(status: int) -> HTMLResponse:
    """A non-JSON error page, as a reverse proxy in front of the API sends."""
    phrase = _PHRASES.get(status, "Error")
    html = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return HTMLResponse(html, status_code=status)


def fault_response(status: int) -> Response:
    """The answer for an injected error status (502/504 as HTML, others as JSON)."""
    if status in (502, 504):
        return _gateway_page(status)
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    phrase = _PHRASES.get(status, "Error")
    return error_response(
        status, f"{phrase} (emulated fault injected by the klein emulator)", headers
    )


def emulator_of(request: Request) -> Emulator:
    """The live `Emulator` behind the app that got ``request``."""
    return cast("Emulator", request.app.state.emulator)


def authorize(request: Request, emu: Emulator) -> None:
    """Raise a 401 `Problem` unless the request carries an acceptable bearer key.

    Started without ``api_key``, the emulator is open: a request with no Authorization
    header is served (so a client with no key works against it), but a malformed header
    is refused as WaveSpeed refuses it. With ``api_key``, the header is required.
    """
    header = request.headers.get("authorization")
    if header is None and emu.api_key is None:
        return
    if not header:
        raise Problem(
            401, "Missing Authorization header: send 'Authorization: Bearer <your API key>'."
        )
    token = bearer_token(request)
    if token is None:
        raise Problem(401, "Invalid Authorization header: expected 'Bearer <your API key>'.")
    # The key itself is never echoed back.
    if emu.api_key is not None and not hmac.compare_digest(token.encode(), emu.api_key.encode()):
        raise Problem(401, "Invalid authentication: the API key was not accepted.")


def act(fault: Action | None) -> None:
    """Perform a network-level fault (an error status, "drop", "reset") instead of the
    route's answer, by raising `Injected`; with any other fault, or none, the route goes on."""
    if isinstance(fault, int) or fault in ("drop", "reset"):
        raise Injected(fault)


class Gate:
    """Outer middleware: logs every answer in the emulator and performs injected faults."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method, path = scope["method"], scope["path"]
        try:
            await self.app(scope, receive, send_status)
        except Injected as fault:
            if not isinstance(fault.action, int):  # no answer at all
                self.emulator.log(method, path, 0)
                await _hang_up(scope, receive, fault.action)
                return
            await fault_response(fault.action)(scope, receive, send_status)
        except BaseException:
            self.emulator.log(method, path, status)
            raise
        self.emulator.log(method, path, status)


async def _hang_up(scope: Scope, receive: Receive, how: str) -> None:
    hook = cast("Callable[[str], None] | None", (scope.get("extensions") or {}).get(DROP_EXTENSION))
    if hook is None:
        # In-process there is no socket: raise what httpx raises over a real one.
        import httpx  # a dependency of klein-widget itself; imported only here

        if how == "reset":
            raise httpx.ReadError("[Errno 104] Connection reset by peer")
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
    hook(how)
    # Let the server see the disconnect, so it ends the cycle quietly (no 500, no log).
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(_until_disconnect(receive), timeout=1.0)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


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
