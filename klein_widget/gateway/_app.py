"""`create_app`: the classroom gateway as a Starlette app (students' API + dashboard).

Example:
    >>> app = create_app("class.sqlite3", upstream="emulator")  # doctest: +SKIP
    >>> app.state.gateway.teacher_token.startswith("kgw_")  # doctest: +SKIP
    True
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from os import PathLike
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from klein_widget.client._models import ENHANCER_MODEL_ID, MODEL_ID
from klein_widget.gateway import _api
from klein_widget.gateway._classwork import HAND_IN_MAX_BYTES, HAND_IN_PATH
from klein_widget.gateway._conn import BodyLimit, quiet_accept_errors
from klein_widget.gateway._routes import teacher_routes
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.serving._http import EXCEPTION_HANDLERS, envelope

__all__ = ["create_app"]

_log = logging.getLogger(__name__)


async def index(request: Request) -> Response:
    """What this server is, and what a student sets."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "name": "klein gateway",
            "about": "A classroom gateway to WaveSpeed: use the token your teacher gave you.",
            "models": [MODEL_ID, ENHANCER_MODEL_ID],
            "set": {"WAVESPEED_BASE_URL": base, "WAVESPEED_API_KEY": "<your class token>"},
            "upstream": gateway_of(request).upstream.label,
        }
    )


async def _crash(request: Request, exc: Exception) -> Response:
    # Never the exception's text: it might quote something it should not.
    _log.error("gateway error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse(
        envelope(None, 500, f"Internal gateway error ({type(exc).__name__}); tell your teacher."),
        status_code=500,
    )


def create_app(
    db_path: str | PathLike[str] | None = None,
    *,
    gateway: Gateway | None = None,
    upstream: str | ASGIApp = "emulator",
    api_key: str | None = None,
    **options: Any,
) -> Starlette:
    """Build a gateway app on a class database (made if missing); its state is
    ``app.state.gateway`` (a `Gateway`). ``upstream``: ``"emulator"`` (in-process),
    ``"wavespeed"``, a base URL, or an ASGI app. ``api_key``: the teacher's key (default
    ``$WAVESPEED_API_KEY``), sent only upstream. ``options``: `Gateway.open`'s.

    Example:
        >>> app = create_app(tmp / "class.sqlite3")  # doctest: +SKIP
    """
    if gateway is None:
        if db_path is None:
            raise ValueError("create_app needs db_path (or a gateway)")
        gateway = Gateway.open(db_path, upstream=upstream, api_key=api_key, **options)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        quiet_accept_errors(asyncio.get_running_loop())  # one line a minute, not a flood
        gateway.ensure_started()  # resume the journal at once, not at the first request
        yield
        await gateway.dispatcher.stop()  # what is in flight stays in the journal
        await gateway.upstream.aclose()

    handlers = {**EXCEPTION_HANDLERS, Exception: _crash}
    limits = gateway.limits
    body = Middleware(
        BodyLimit,
        max_bytes=gateway.max_body_bytes,
        timeout=limits.body_timeout,
        larger={HAND_IN_PATH: HAND_IN_MAX_BYTES},  # a lesson pack: checked again by its route
    )
    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/v3/predictions/{task_id}/result", _api.result, methods=["GET"]),
            Route("/api/v3/predictions/{task_id}", _api.result, methods=["GET"]),
            Route("/api/v3/{model:path}", _api.submit, methods=["POST"]),
            Route("/gateway/images/{task_id}.png", _api.image, methods=["GET"]),
            *teacher_routes(),
        ],
        middleware=[body],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app
