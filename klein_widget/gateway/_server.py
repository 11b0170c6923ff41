"""Serve a gateway with uvicorn: in a background thread (`start`: tests, notebooks) or in
the foreground (`serve`: the CLI). No access log: a dashboard link carries the teacher's
token, and nothing the gateway logs may carry a secret.

Example:
    >>> with start("class.sqlite3") as running:  # doctest: +SKIP
    ...     print(running.base_url, running.gateway.teacher_token)
"""

from __future__ import annotations

import threading
import time
from os import PathLike
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from klein_widget.emulator._server import bind, url_for
from klein_widget.gateway._app import create_app
from klein_widget.gateway._state import Gateway

__all__ = ["RunningGateway", "server_for", "start"]


def server_for(app: Starlette, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for a gateway app (lifespan on: the journal resumes at start)."""
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class RunningGateway:
    """A gateway served in a daemon thread; stop it with `stop` or ``with``.

    Example:
        >>> running = start(tmp / "class.sqlite3")  # doctest: +SKIP
        >>> running.stop()  # doctest: +SKIP
    """

    def __init__(self, app: Starlette, server: uvicorn.Server, thread: threading.Thread,
                 base_url: str) -> None:  # fmt: skip
        self.app = app
        self.base_url = base_url
        self._server = server
        self._thread = thread

    @property
    def gateway(self) -> Gateway:
        """The live state: database, store, queue, teacher token."""
        gateway: Gateway = self.app.state.gateway
        return gateway

    def stop(self) -> None:
        """Stop serving (idempotent); tasks in flight stay in the journal."""
        self._server.should_exit = True
        self._thread.join(10)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)

    def __enter__(self) -> RunningGateway:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningGateway {self.base_url}>"


def start(
    db_path: str | PathLike[str], *, host: str = "127.0.0.1", port: int = 0, **options: Any
) -> RunningGateway:
    """Serve a gateway on ``host:port`` (0: a free port) in a daemon thread; returns once it
    accepts connections. ``options``: `create_app`'s.

    Example:
        >>> with start(tmp / "class.sqlite3", upstream="emulator") as running:  # doctest: +SKIP
        ...     token = running.gateway.db.add_student("ada", 2000)
    """
    app = create_app(db_path, **options)
    sock = bind(host, port)
    server = server_for(app)
    base_url = url_for(host, sock.getsockname()[1])
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"klein-gateway {base_url}",
        daemon=True,
    )  # fmt: skip
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the klein gateway did not start on {base_url}")
        time.sleep(0.005)
    return RunningGateway(app, server, thread, base_url)
