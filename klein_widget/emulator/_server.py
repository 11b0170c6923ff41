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
import socket
import struct
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from klein_widget.emulator._app import create_app
from klein_widget.emulator._http import CONNECTION_EXTENSION, DROP_EXTENSION
from klein_widget.emulator._settings import Settings, StartKnobs, gather_faults
from klein_widget.emulator._state import Emulator
from klein_widget.serving._http import ServedInThread, no_delay

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

__all__ = ["RunningEmulator", "make_server", "start"]


class _HangUpProtocol(H11Protocol):
    """uvicorn's h11 protocol, plus scope extensions: one can drop the connection.

    uvicorn answers 500 when an app raises before responding, so a real "no answer at
    all" needs the transport; this hands the app a callable that closes or resets it.
    It also numbers the requests on each connection (`CONNECTION_EXTENSION`), so the
    simulated network can charge a new connection's handshakes.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
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
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    **knobs: Unpack[StartKnobs],
) -> RunningEmulator:
    """Serve a new emulator on ``host:port`` in a daemon thread; return once it accepts.

    ``knobs`` (`StartKnobs`) are `create_app`'s (``inference_time``, ``faults``,
    ``packs``, ...), and the fields of `Faults` by name (``fail_rate=0.2``,
    ``drop_rate=...``), gathered into its ``faults``.

    Example:
        >>> with start(port=0, inference_time=0.02, concurrency=2) as running:
        ...     running.emulator.concurrency
        2
    """
    packs = knobs.pop("packs", ())
    simulated = knobs.pop("simulated", True)
    app = create_app(Settings.of(None, gather_faults(knobs)), packs=packs, simulated=simulated)
    server = make_server(app, log_level=log_level)
    return RunningEmulator.launch(app, server, host, port, "klein emulator")
