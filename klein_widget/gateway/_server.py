"""Serve a gateway with uvicorn: in a background thread (`start`: tests, notebooks) or in
the foreground (`serve`: the CLI). No access log: a dashboard link carries the teacher's
token, and nothing the gateway logs may carry a secret.

Example:
    >>> with start("class.sqlite3") as running:  # doctest: +SKIP
    ...     print(running.base_url, running.gateway.teacher_token)
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette

from klein_widget.gateway._app import create_app
from klein_widget.gateway._conn import Limits, protocol_for
from klein_widget.gateway._state import Gateway, OpenOptions
from klein_widget.serving._http import ServedInThread

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RunningGateway", "server_for", "start"]


def server_for(app: Starlette, trust_proxy: Sequence[str] = ()) -> uvicorn.Server:
    """A uvicorn server for a gateway app (lifespan on: the journal resumes at start),
    with the gateway's `Limits`. ``X-Forwarded-For`` is believed only from the addresses
    in ``trust_proxy`` (default: from nobody)."""
    limits: Limits = app.state.gateway.limits
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_level="warning",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=2,
        http=protocol_for(limits),
        timeout_keep_alive=limits.keep_alive,
        h11_max_incomplete_event_size=limits.max_head_bytes,
        # Requests beyond this many at once get uvicorn's 503: a backstop to the cap on
        # connections, which keeps file descriptors from running out.
        limit_concurrency=limits.max_connections + 1,
        backlog=limits.backlog,
        proxy_headers=bool(trust_proxy),
        forwarded_allow_ips=list(trust_proxy) or None,
    )
    return uvicorn.Server(config)


class RunningGateway(ServedInThread):
    """A gateway served in a daemon thread; stop it with `stop` or ``with`` (tasks in
    flight stay in the journal).

    Example:
        >>> running = start(tmp / "class.sqlite3")  # doctest: +SKIP
        >>> running.stop()  # doctest: +SKIP
    """

    stop_wait = 10.0  # its lifespan hands what is in flight back to the journal first

    @property
    def gateway(self) -> Gateway:
        """The live state: database, store, queue, teacher token."""
        gateway: Gateway = self.app.state.gateway
        return gateway

    def __repr__(self) -> str:
        return f"<RunningGateway {self.base_url}>"


def start(
    db_path: str | PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Unpack[OpenOptions],
) -> RunningGateway:
    """Serve a gateway on ``host:port`` (0: a free port) in a daemon thread; returns once it
    accepts connections. ``options``: `create_app`'s.

    Example:
        >>> with start(tmp / "class.sqlite3", upstream="emulator") as running:  # doctest: +SKIP
        ...     token = running.gateway.db.add_student("ada", 2000)
    """
    app = create_app(db_path, **options)
    return RunningGateway.launch(app, server_for(app), host, port, "klein gateway")
