"""Serve the emulator with uvicorn: in a background thread (`start`) or in the foreground.

`start` works from plain scripts, pytest, and inside a running Jupyter kernel (whose main
thread already runs an event loop): uvicorn gets its own thread and its own loop.

Example:
    >>> with start(inference_time=0.02) as running:
    ...     running.base_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
import threading
import time
from types import TracebackType
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from klein_widget.emulator._app import create_app
from klein_widget.emulator._faults import Faults
from klein_widget.emulator._http import DROP_EXTENSION
from klein_widget.emulator._network import CONNECTION_EXTENSION
from klein_widget.emulator._state import Emulator

__all__ = ["RunningEmulator", "ServedInThread", "bind", "make_server", "start", "url_for"]

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0


class _HangUpProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus scope extensions: one can drop the connection.

    uvicorn answers 500 when an app raises before responding, so a real "no answer at
    all" needs the transport; this hands the app a callable that closes or resets it.
    It also numbers the requests on each connection (`CONNECTION_EXTENSION`), so the
    simulated network can charge a new connection's handshakes.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # asyncio sets TCP_NODELAY only when the listening socket's proto is
            # IPPROTO_TCP, and ours (from `bind`) has proto 0. Without it, Nagle holds each
            # keep-alive response for the client's delayed ACK: +40 ms per request.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        app = self.app

        def hang_up(how: str) -> None:
            if how == "reset":
                sock = transport.get_extra_info("socket")
                if sock is not None:  # linger 0: the close sends RST, not FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            else:
                transport.close()

        served = 0  # requests begun on this connection

        async def with_hang_up(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal served
            index, served = served, served + 1
            scope["extensions"] = {
                **(scope.get("extensions") or {}),
                DROP_EXTENSION: hang_up,
                CONNECTION_EXTENSION: index,
            }
            await app(scope, receive, send)

        self.app = with_hang_up


def url_for(host: str, port: int) -> str:
    """The base URL a client should use for a server bound to ``host:port``."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


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


def make_server(
    app: Starlette,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    configure_logging: bool = False,
) -> uvicorn.Server:
    """A uvicorn server for ``app`` with the hang-up-capable protocol."""
    config = uvicorn.Config(
        app,
        http=_HangUpProtocol,
        lifespan="off",
        log_level=log_level,
        access_log=access_log,
        # A library must not reconfigure the host program's logging; the CLI may.
        log_config=uvicorn.config.LOGGING_CONFIG if configure_logging else None,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


class ServedInThread:
    """A Starlette app served by uvicorn in a daemon thread (the emulator's, the gateway's);
    `stop` or ``with`` ends it.

    Example:
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


class RunningEmulator(ServedInThread):
    """An emulator served by uvicorn in a daemon thread; stop it with `stop` or ``with``.

    Example:
        >>> running = start(inference_time=0.02)
        >>> running.emulator.accepted
        0
        >>> running.stop()
    """

    @property
    def emulator(self) -> Emulator:
        """The live state (knobs, scripts, request log)."""
        emulator: Emulator = self.app.state.emulator
        return emulator

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<RunningEmulator {self.base_url} {state}>"


def start(
    *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning", **create_app_kwargs: Any
) -> RunningEmulator:
    """Serve a new emulator on ``host:port`` in a daemon thread; return once it accepts.

    ``create_app_kwargs`` are `create_app`'s knobs (``inference_time``, ``faults``, ...),
    and the fields of `Faults` by name (``fail_rate=0.2``, ``drop_rate=...``), gathered
    into its ``faults``.

    Example:
        >>> with start(port=0, inference_time=0.02, concurrency=2) as running:
        ...     running.emulator.concurrency
        2
    """
    app = create_app(**_gather_faults(create_app_kwargs))
    server = make_server(app, log_level=log_level)
    return RunningEmulator.launch(app, server, host, port, "klein emulator")


def _gather_faults(knobs: dict[str, Any]) -> dict[str, Any]:
    """Move `Faults` fields given by name (``fail_rate=...``) into ``faults``."""
    names = {f.name for f in dataclasses.fields(Faults)}
    rates = {name: knobs.pop(name) for name in list(knobs) if name in names}
    if rates:
        base = knobs.get("faults") or Faults()
        knobs["faults"] = dataclasses.replace(base, **rates)
    return knobs
