"""Fixtures for the emulator's own tests: in-process apps and loopback servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from klein_widget.emulator import Emulator, RunningEmulator, create_app, start
from tests.stopping import stopped_later

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
ENHANCE = "/api/v3/wavespeed-ai/prompt-optimizer"
AUTH = {"Authorization": "Bearer emulator-test-key"}
FAST = 0.02  # inference time for tests where timing is not the subject


@pytest.fixture
def app() -> Starlette:
    """An in-process emulator that finishes images in 20 ms."""
    return create_app(inference_time=FAST)


@pytest.fixture
def emu(app: Starlette) -> Emulator:
    """The in-process emulator's live state."""
    state: Emulator = app.state.emulator
    return state


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client wired to the app in-process, with a key."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=AUTH
    ) as client:
        yield client


@pytest.fixture
async def bare(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app with no key: what an upload's PUT and a download use."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


@pytest.fixture
def live() -> Iterator[RunningEmulator]:
    """A fresh emulator over loopback (uvicorn in a thread)."""
    with stopped_later(start(port=0, inference_time=FAST)) as running:
        yield running


async def wait_done(http: httpx.AsyncClient, task_id: str, limit: float = 5.0) -> dict[str, Any]:
    """Poll the result until the task is terminal; return its ``data``."""
    for _ in range(int(limit / 0.01)):
        data: dict[str, Any] = (await http.get(f"/api/v3/predictions/{task_id}/result")).json()[
            "data"
        ]
        if data["status"] in ("completed", "failed"):
            return data
        await asyncio.sleep(0.01)
    raise AssertionError(f"task {task_id} did not finish in {limit} s")


def body(prompt: str = "a red fox in the snow", **fields: Any) -> dict[str, Any]:
    """A submit body with a concrete seed and a small size."""
    return {"prompt": prompt, "size": "320*256", "seed": 42, **fields}
