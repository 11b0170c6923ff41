"""Run each client test against both clients: the sync one in a worker thread, the async one
on the test's loop, both talking to the same in-process emulator."""

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
from tests.conftest import FAKE_KEY, TEST_URL, fast_options


class Both:
    """Call a client method by name and await it, whichever client it is."""

    def __init__(self, client: BaseClient, kind: str, sleeps: list[float]) -> None:
        self.client = client
        self.kind = kind
        self.sleeps = sleeps  # every pause the client asked for, in order

    async def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(self.client, name)
        if inspect.iscoroutinefunction(method):
            return await method(*args, **kwargs)
        return await asyncio.to_thread(method, *args, **kwargs)


MakeClient = Callable[..., Any]


@pytest.fixture(params=["sync", "async"])
async def make_client(
    request: pytest.FixtureRequest, emulator_app: Starlette
) -> AsyncIterator[MakeClient]:
    """A factory: ``make_client(**options)`` -> `Both` over a fresh client of this kind."""
    kind: str = request.param
    opened: list[Any] = []

    def make(api_key: str | None = FAKE_KEY, app: Starlette | None = None, **options: Any) -> Both:
        sleeps: list[float] = []
        target = app or emulator_app
        if kind == "sync":
            import time

            def sleep(seconds: float) -> None:
                sleeps.append(seconds)
                time.sleep(min(seconds, 0.01))

            http = TestClient(target, base_url=TEST_URL)
            http.__enter__()
            opened.append(http)
            client: BaseClient = KleinClient(
                api_key, TEST_URL, http_client=http, sleep=sleep, **fast_options(**options)
            )
        else:

            async def asleep(seconds: float) -> None:
                sleeps.append(seconds)
                await asyncio.sleep(min(seconds, 0.01))

            ahttp = httpx.AsyncClient(transport=httpx.ASGITransport(app=target), base_url=TEST_URL)
            opened.append(ahttp)
            client = AsyncKleinClient(
                api_key, TEST_URL, http_client=ahttp, sleep=asleep, **fast_options(**options)
            )
        return Both(client, kind, sleeps)

    yield make
    for http in opened:
        if isinstance(http, httpx.AsyncClient):
            await http.aclose()
        else:
            http.__exit__(None, None, None)


@pytest.fixture
def klein(make_client: MakeClient) -> Both:
    """A client (sync or async) with the fake key, on the in-process emulator."""
    return make_client()  # type: ignore[no-any-return]
