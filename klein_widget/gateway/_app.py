"""`create_app`: the classroom gateway as a Starlette app (students' API + dashboard), and
serving it with uvicorn: in a background thread (`start`: tests, notebooks) or in the
foreground (`server_for`: the CLI). No access log: a dashboard link carries the teacher's
token, and nothing the gateway logs may carry a secret.

Example:
    >>> app = create_app("class.sqlite3", upstream="emulator")  # doctest: +SKIP
    >>> app.state.gateway.teacher_token.startswith("kgw_")  # doctest: +SKIP
    True
    >>> with start("class.sqlite3") as running:  # doctest: +SKIP
    ...     print(running.base_url, running.gateway.teacher_token)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from os import PathLike
from typing import TYPE_CHECKING, cast

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from klein_widget.client._family import MODELS
from klein_widget.client._models import ENHANCER_MODEL_ID
from klein_widget.gateway import _api, _classwork, _dashboard, _pages, _upload_routes
from klein_widget.gateway._classwork import HAND_IN_MAX_BYTES, HAND_IN_PATH
from klein_widget.gateway._conn import BodyLimit, Limits, protocol_for, quiet_accept_errors
from klein_widget.gateway._state import Gateway, OpenOptions, gateway_of
from klein_widget.gateway._teacher import STATIC
from klein_widget.gateway._upload_routes import REHEARSAL_FILES, REHEARSAL_UPLOADS, rehearsal
from klein_widget.serving._http import EXCEPTION_HANDLERS, ServedInThread, error_response

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RunningGateway", "create_app", "server_for", "start"]

_log = logging.getLogger(__name__)


async def index(request: Request) -> Response:
    """What this server is, and what a student sets."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "name": "klein gateway",
            "about": "A classroom gateway to WaveSpeed: use the token your teacher gave you.",
            "models": [*(m.id for m in MODELS), ENHANCER_MODEL_ID],
            "set": {"WAVESPEED_BASE_URL": base, "WAVESPEED_API_KEY": "<your class token>"},
            "upstream": gateway_of(request).upstream.label,
        }
    )


async def _crash(request: Request, exc: Exception) -> Response:
    # Never the exception's text: it might quote something it should not.
    _log.error("gateway error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return error_response(500, f"Internal gateway error ({type(exc).__name__}); tell your teacher.")


def create_app(
    db_path: str | PathLike[str] | None = None,
    *,
    gateway: Gateway | None = None,
    **options: Unpack[OpenOptions],
) -> Starlette:
    """Build a gateway app on a class database (made if missing); its state is
    ``app.state.gateway`` (a `Gateway`). ``options`` are `Gateway.open`'s (`OpenOptions`):
    ``upstream``: ``"emulator"`` (in-process), ``"wavespeed"``, a base URL, or an ASGI app;
    ``api_key``: the teacher's key (default ``$WAVESPEED_API_KEY``), sent only upstream;
    and `Gateway`'s own (`ClassOptions`).

    Example:
        >>> app = create_app(tmp / "class.sqlite3")  # doctest: +SKIP
    """
    if gateway is None:
        if db_path is None:
            raise ValueError("create_app needs db_path (or a gateway)")
        gateway = Gateway.open(db_path, **options)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        quiet_accept_errors(asyncio.get_running_loop())  # one line a minute, not a flood
        gateway.ensure_started()  # resume the journal at once, not at the first request
        yield
        await gateway.dispatcher.stop()  # what is in flight stays in the journal
        await gateway.upstream.aclose()

    body = Middleware(
        BodyLimit,
        max_bytes=gateway.max_body_bytes,
        timeout=gateway.limits.body_timeout,
        # A lesson pack (checked again by its route); a rehearsal upload's PUT.
        larger={
            HAND_IN_PATH: HAND_IN_MAX_BYTES,
            REHEARSAL_UPLOADS: gateway.uploads.limits.max_bytes,
        },
    )
    d = _dashboard
    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/v3/predictions/{task_id}/result", _api.result, methods=["GET"]),
            Route("/api/v3/predictions/{task_id}", _api.result, methods=["GET"]),
            Route("/api/v3/media/uploads", _upload_routes.ticket, methods=["POST"]),
            Route("/api/v3/model/price", _upload_routes.model_price, methods=["POST"]),
            Route("/api/v3/{model:path}", _api.submit, methods=["POST"]),
            Route("/gateway/images/{task_id}.png", _api.image, methods=["GET"]),
            Route(f"{REHEARSAL_UPLOADS}{{token}}", rehearsal, methods=["PUT"]),
            Route(f"{REHEARSAL_FILES}{{token}}/{{name}}", rehearsal, methods=["GET"]),
            # The teacher's side, and the students' own teacher-facing routes.
            Route("/dashboard", d.dashboard, methods=["GET"]),
            Route("/dashboard/state.json", d.state, methods=["GET"]),
            Route("/dashboard/pack.zip", d.pack, methods=["GET"]),
            Route("/dashboard/tasks.csv", _pages.tasks_csv, methods=["GET"]),
            Route("/dashboard/students/{number}", _pages.student_page, methods=["GET"]),
            Route("/dashboard/students/{number}/revoke", d.revoke, methods=["POST"]),
            Route("/dashboard/students/{number}/budget", d.budget, methods=["POST"]),
            Route("/dashboard/images/{task_id}/hide", d.hide, methods=["POST"]),
            Route("/dashboard/hand-ins/{hand_in_id}.zip", _pages.hand_in_file, methods=["GET"]),
            Route("/api/klein/me", _classwork.me, methods=["GET"]),
            Route(HAND_IN_PATH, _classwork.hand_in, methods=["POST"]),
            Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
        ],
        middleware=[body],
        exception_handlers={**EXCEPTION_HANDLERS, Exception: _crash},
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app


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
        return cast(Gateway, self.app.state.gateway)

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
