"""One request's overall deadline, which httpx lacks: its timeouts are per read.

A server that sends a byte just before each read timeout (a trickle) or a byte and then
nothing keeps a per-read timeout from ever firing, so the client also holds the whole
request to its deadline. Awaited, an anyio cancel scope cancels the request at the deadline
(headers and body alike); blocking, a timer shuts the connection's socket down once the
answer's headers are in (httpx's public ``network_stream`` extension; re-armed on each
redirect hop's answer, as the clients follow redirects one hop at a time), which ends a
read in progress at once. Either way the request raises ``httpx.ReadTimeout`` at the deadline.

Example:
    >>> with SyncDeadline(5.0) as deadline, http.stream("GET", url) as response:  # doctest: +SKIP
    ...     deadline.watch(response)
    ...     body = response.read()
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType

import anyio
import httpx

__all__ = ["AsyncDeadline", "SyncDeadline"]

Traceback = TracebackType | None

_LATE = "the answer was still arriving at the deadline"


class AsyncDeadline:
    """Cancels the awaited request inside it at ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self._scope = anyio.CancelScope(deadline=anyio.current_time() + max(0.0, seconds))

    async def __aenter__(self) -> AsyncDeadline:
        self._scope.__enter__()
        return self

    def watch(self, response: httpx.Response) -> None:
        """Nothing to do: the cancel scope already covers the whole request."""

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Traceback
    ) -> bool:
        swallowed = bool(self._scope.__exit__(kind, error, tb))
        if self._scope.cancelled_caught:
            raise httpx.ReadTimeout(_LATE)
        return swallowed


class SyncDeadline:
    """Shuts the watched response's connection down at ``seconds`` from now."""

    def __init__(self, seconds: float) -> None:
        self._ends = time.monotonic() + max(0.0, seconds)
        self._timer: threading.Timer | None = None
        self._fired = threading.Event()

    def __enter__(self) -> SyncDeadline:
        return self

    def watch(self, response: httpx.Response) -> None:
        """Arm the timer on ``response``'s socket (a transport without one: per-read only),
        instead of the last response's (a redirect's hop) if there was one."""
        if self._timer is not None:
            self._timer.cancel()
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return

        def shut() -> None:
            self._fired.set()
            with contextlib.suppress(OSError):  # already closed: the request ended meanwhile
                sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked in another thread

        self._timer = threading.Timer(max(0.0, self._ends - time.monotonic()), shut)
        self._timer.daemon = True
        self._timer.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: Traceback
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if error is not None and self._fired.is_set() and isinstance(error, Exception):
            raise httpx.ReadTimeout(_LATE) from None
