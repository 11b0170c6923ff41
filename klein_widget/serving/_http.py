"""HTTP plumbing both servers share: error answers, the envelope, JSON bodies, serving in
a thread.

Every error either server gives is the envelope with a 4xx/5xx status: raise `Problem`
and install `EXCEPTION_HANDLERS`. `ServedInThread` runs a Starlette app under uvicorn in a
daemon thread (tests, notebooks); `bind` and `url_for` are its socket and its address.

Example:
    >>> envelope({"id": "t1"})
    {'code': 200, 'message': 'success', 'data': {'id': 't1'}}
    >>> url_for("0.0.0.0", 8000)
    'http://127.0.0.1:8000'
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from klein_widget.client._metadata import detect_format

__all__ = [
    "EXCEPTION_HANDLERS",
    "Problem",
    "ServedInThread",
    "bearer_token",
    "bind",
    "envelope",
    "error_response",
    "image_response",
    "no_delay",
    "read_body",
    "read_json",
    "url_for",
]

# A declared body this large is refused without reading it; smaller ones are drained
# first so the client reads the 413 instead of a broken pipe.
_DRAIN_LIMIT = 32 << 20
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0


class Problem(Exception):
    """An error answer: status, message, optional headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def envelope(data: object, code: int = 200, message: str = "success") -> dict[str, object]:
    """The API's JSON wrapper around every answer."""
    return {"code": code, "message": message, "data": data}


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An error in the envelope: ``{"code": status, "message": ..., "data": null}``."""
    return JSONResponse(envelope(None, status, message), status_code=status, headers=headers)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (at most 512 characters:
    no server compares more), or None if there is no such header."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()[:512]
    return token if scheme.lower() == "bearer" and token else None


def image_response(data: bytes, cache_control: str) -> Response:
    """An image answer: PNG, or JPEG (a lesson pack's may be) by its first bytes."""
    kind = "image/jpeg" if detect_format(data) == "jpeg" else "image/png"
    return Response(data, media_type=kind, headers={"Cache-Control": cache_control})


async def read_body(request: Request, cap: int, too_big: Problem) -> bytes:
    """The body, or ``too_big`` raised when its declared length or what streams in passes
    ``cap`` (nothing past the cap is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise too_big
    return bytes(body)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object, or a 413 / 415 / 400 `Problem` saying what to send."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise Problem(
            415,
            f"Unsupported content type {ctype or '(none)'!r}: send a JSON object with "
            "'Content-Type: application/json'.",
        )
    too_big = Problem(413, f"Request body too large: at most {limit} bytes of JSON are accepted.")
    body = await read_body(request, _DRAIN_LIMIT, too_big)
    if len(body) > limit:
        raise too_big
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Problem(
            400, f'The body is not valid JSON ({exc}). Send an object like {{"prompt": "a fox"}}.'
        ) from None
    if not isinstance(data, dict):
        raise Problem(400, f"The body must be a JSON object, not {type(data).__name__}.")
    return data


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return error_response(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))


async def _crash(request: Request, exc: Exception) -> Response:
    return error_response(500, f"Internal server error: {type(exc).__name__}. This is a bug.")


_Handler = Callable[[Request, Exception], Awaitable[Response]]

EXCEPTION_HANDLERS: dict[Any, _Handler] = {  # every error answer is the JSON envelope
    Problem: _problem,
    HTTPException: _http_error,
    Exception: _crash,
}


def url_for(host: str, port: int) -> str:
    """The base URL a client should use for a server bound to ``host:port``."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Set TCP_NODELAY on a new TCP connection (a protocol's ``connection_made`` calls it).

    asyncio sets it only when the listening socket's proto is IPPROTO_TCP, and `bind`'s has
    proto 0. Without it, Nagle holds each kept-alive answer for the client's delayed ACK:
    +40 ms per request.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now, so a client that connects as soon as the address is printed waits
        # in the backlog instead of being refused while uvicorn starts.
        sock.listen(socket.SOMAXCONN)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class ServedInThread:
    """A Starlette app served by uvicorn in a daemon thread (the emulator's, the gateway's);
    `stop` or ``with`` ends it. Subclasses name what they serve (`RunningEmulator`,
    `RunningGateway`).

    Example:
        >>> from klein_widget.emulator import start
        >>> with start(inference_time=0.02) as running:  # a RunningEmulator
        ...     running.running
        True
    """

    stop_wait = _STOP_TIMEOUT  # seconds `stop` waits before forcing the server to exit

    def __init__(
        self, app: Starlette, server: uvicorn.Server, thread: threading.Thread, base_url: str
    ) -> None:
        self.app = app
        self.base_url = base_url
        """Where clients point, e.g. ``"http://127.0.0.1:41234"``."""
        self._server = server
        self._thread = thread

    @classmethod
    def launch(
        cls: type[_Served], app: Starlette, server: uvicorn.Server, host: str, port: int, what: str
    ) -> _Served:
        """Serve ``app`` on ``host:port`` (0: a free port) in a daemon thread; return once it
        accepts connections. ``what`` names it in the thread and in the error."""
        sock = bind(host, port)
        base_url = url_for(host, sock.getsockname()[1])
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"{what} {base_url}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the {what} did not start on {base_url}")
            time.sleep(0.005)
        return cls(app, server, thread, base_url)

    @property
    def running(self) -> bool:
        """True until the server thread has ended."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        self._server.should_exit = True
        self._thread.join(self.stop_wait)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(_STOP_TIMEOUT)

    def __enter__(self: _Served) -> _Served:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_Served = TypeVar("_Served", bound=ServedInThread)
