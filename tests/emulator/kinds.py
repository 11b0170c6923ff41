"""Either client on an in-process emulator, its calls awaited alike: the `make` fixture
(``sync`` and ``async``) for the client-side tests of uploads and edits."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from klein_widget import AsyncKleinClient, KleinClient
from klein_widget.client._base import BaseClient
from klein_widget.client._models import GenerationRequest
from klein_widget.client._references import to_references
from klein_widget.emulator._render import render_png
from tests.conftest import fast_options

KEY = "wsk-uploads-4f1d9b2c7e"
URL = "http://testserver"
FOX = render_png("a red fox", 1, 320, 256)
BARN = render_png("a red barn", 2, 256, 384)


class Client:
    """One client of either kind, its calls awaited alike (the blocking one in a thread)."""

    def __init__(self, client: BaseClient) -> None:
        self.client = client

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self.client, name)
        if inspect.iscoroutinefunction(method):
            return await method(*args, **kwargs)
        return await asyncio.to_thread(method, *args, **kwargs)

    async def upload(self, images: Any, timeout: float = 5.0) -> tuple[str, ...]:
        run = self.client._start(GenerationRequest("an edit"), timeout, None)
        urls: tuple[str, ...] = await self.call("_upload_references", to_references(images), run)
        return urls


Make = Callable[..., Client]


@pytest.fixture(params=["sync", "async"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """``make(app, key=KEY, headers=None, auth=None, gallery=False, **options)``: a fresh
    client of this kind on ``app`` (in-process; ``headers`` and ``auth`` are its pool's)."""
    opened: list[Any] = []

    def build(app: Starlette, key: str | None = KEY, **options: Any) -> Client:
        headers = options.pop("headers", None)
        auth = options.pop("auth", None)  # the pool's own credentials, for every request
        options.setdefault("gallery", False)
        if request.param == "sync":
            http: Any = TestClient(app, base_url=URL, headers=headers)
            client: BaseClient = KleinClient(key, URL, http_client=http, **fast_options(**options))
        else:
            transport = httpx.ASGITransport(app=app)
            http = httpx.AsyncClient(transport=transport, base_url=URL, headers=headers)
            client = AsyncKleinClient(key, URL, http_client=http, **fast_options(**options))
        if auth is not None:
            http.auth = auth
        opened.append(http)
        return Client(client)

    yield build
    for http in opened:
        if isinstance(http, httpx.AsyncClient):
            await http.aclose()
        else:
            http.close()
