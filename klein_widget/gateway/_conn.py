"""The gateway's limits on connections and requests, so a thousand idle sockets, a slow
sender or a huge body never take the class down (`Limits`, with the defaults
docs/GATEWAY.md lists):

- every connection gets TCP_NODELAY (a kept-alive answer is not held ~40 ms for a
  delayed ACK);
- a connection must send a complete request head within ``head_timeout`` seconds of
  opening (or of its previous answer), else it is closed; between requests uvicorn's
  ``keep_alive`` closes it sooner; a head is at most ``max_head_bytes``;
- at most ``max_connections`` are open: one more closes the oldest that is idle (has
  sent no request), else is itself closed, so file descriptors never run out;
- a body is refused (413) by its Content-Length, or while it streams, past
  ``max_body_bytes``, before it is buffered; one that takes longer than ``body_timeout``
  seconds is answered 408.

Example:
    >>> Limits().head_timeout
    10.0
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import resource
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from klein_widget.serving._http import Problem, error_response, no_delay

__all__ = [
    "BodyLimit",
    "Limits",
    "connections_for",
    "protocol_for",
    "quiet_accept_errors",
    "raise_file_limit",
    "route_path",
]

_log = logging.getLogger(__name__)

# Files kept for other work (the database, the store, upstream connections, logs, ~48),
# and for one batch of accepts: asyncio accepts up to ``backlog`` sockets per wake-up
# before any of them can be turned away, so the batch is kept small (`Limits.backlog`).
_RESERVED_FILES = 112


@dataclass(frozen=True)
class Limits:
    """What one connection and one request may take (defaults: a classroom's needs)."""

    keep_alive: int = 5
    head_timeout: float = 10.0
    body_timeout: float = 30.0
    max_head_bytes: int = 16 << 10
    max_connections: int = 1000
    backlog: int = 64  # connections waiting to be accepted; also asyncio's accepts per tick


def raise_file_limit(want: int = 65536) -> int:
    """Raise this process's soft limit on open files toward its hard limit (as far as
    ``want``); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connections_for(file_limit: int) -> int:
    """Connections to allow under a file limit, leaving room for everything else.

    Example:
        >>> connections_for(256), connections_for(65536)
        (144, 8192)
    """
    return max(16, min(8192, file_limit - _RESERVED_FILES))


def quiet_accept_errors(loop: asyncio.AbstractEventLoop, every: float = 60.0) -> None:
    """Say "out of file descriptors" once a minute, not once per refused accept: asyncio
    logs a traceback for each one (191 MB in 32 s under a flood of sockets)."""
    last = [-math.inf]
    default = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != "socket.accept() out of system resource":
            if default is not None:
                default(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            _log.warning(
                "out of file descriptors: new connections wait (%s); the gateway closes "
                "idle ones to make room",
                context.get("exception"),
            )

    loop.set_exception_handler(handler)


def protocol_for(limits: Limits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the head timeout, the connection cap and TCP_NODELAY."""
    idle: OrderedDict[Guarded, float] = OrderedDict()  # connections with no request yet

    class Guarded(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            no_delay(transport)
            if len(self.connections) > limits.max_connections:
                oldest = next(iter(idle), None)
                if oldest is None:  # everyone is mid-request: this one waits its turn
                    self._close()
                    return
                oldest._close()
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(limits.head_timeout, self._close)
            idle[self] = time.monotonic()

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            idle.pop(self, None)

        def _close(self) -> None:
            self._disarm()
            if not self.transport.is_closing():
                with contextlib.suppress(h11.LocalProtocolError):
                    self.conn.send(h11.ConnectionClosed())
                self.transport.close()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # a request is in: its body and answer have their own limits

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm()  # before a pipelined next request, which disarms it again
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return Guarded


def route_path(scope: Scope) -> str:
    """The request's path as the routes match it: without ``root_path`` (the Hub's
    ``/services/klein``), which ASGI leaves in ``scope["path"]``; Starlette's router strips
    it the same way, so a path-keyed rule here and the route it guards never disagree."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :]
    return path


class BodyLimit:
    """ASGI middleware: 413 by Content-Length or as the body streams past ``max_bytes``
    (or, for a path named in ``larger``, its own cap: a hand-in's lesson pack); 408 if the
    body takes longer than ``timeout`` seconds. Nothing is buffered here. ``larger`` names
    paths as the routes do, without the prefix the app is served under (``root_path``)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout: float,
        larger: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.larger = larger or {}

    @staticmethod
    def _too_large(cap: int) -> Problem:
        # Connection: close, so the rest of the body is never read (uvicorn hangs up).
        return Problem(
            413,
            f"Request body too large: at most {cap} bytes are accepted.",
            headers={"Connection": "close"},
        )

    def _cap(self, path: str) -> int:
        """The cap for ``path``: a ``larger`` path's (one ending in ``/`` covers what is
        under it), else `max_bytes`."""
        for prefix, cap in self.larger.items():
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                return cap
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The path as the routes see it: under the Hub, without its ``/services/klein``.
        cap = self._cap(route_path(scope))
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            too_large = self._too_large(cap)
            answer = error_response(too_large.status, too_large.message, too_large.headers)
            await answer(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                why = "The request body came too slowly: send it again."
                raise Problem(408, why, headers={"Connection": "close"}) from None
            seen += len(message.get("body", b""))
            if seen > cap:
                raise self._too_large(cap)
            return message

        await self.app(scope, limited, send)
