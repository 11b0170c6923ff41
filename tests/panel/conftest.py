"""Fixtures for panel tests: the shared session wired to the in-process emulator.

The panel's default client is ``klein_widget.session().async_client()``; configuring the
session with an ``httpx.AsyncClient`` on the emulator app makes the panel (and anything else
using the session) talk to it, exactly as in a notebook after ``use_emulator()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import comm
import httpx
import pytest
from comm.base_comm import BaseComm
from starlette.applications import Starlette

from klein_widget import Session, session
from klein_widget.widget._widget import KleinPanel
from tests.conftest import FAKE_KEY, TEST_URL, fast_options


@pytest.fixture
async def shared(emulator_app: Starlette) -> AsyncIterator[Session]:
    """The shared session, pointed at the in-process emulator with a key."""
    transport = httpx.ASGITransport(app=emulator_app)
    async with httpx.AsyncClient(transport=transport, base_url=TEST_URL) as http:
        current = session()
        current.configure(api_key=FAKE_KEY, base_url=TEST_URL, http_client=http, **fast_options())
        yield current


@pytest.fixture
async def panel(shared: Session) -> AsyncIterator[KleinPanel]:
    """A panel on the session's default client (closed after the test)."""
    made = KleinPanel()
    yield made
    made.close()


def click(panel: KleinPanel, kind: str, **extra: Any) -> None:
    """Send the panel what its front end sends for a click (a custom comm message)."""
    panel._handle_custom_msg({"type": kind, **extra}, [])


async def until(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Let the loop run until ``predicate()`` is truthy; fail saying ``what`` otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := predicate()):
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
    return value


class RecordingComm(BaseComm):
    """A comm that keeps what would be sent to the page: (kind, data, buffer sizes)."""

    sent: list[tuple[str, dict[str, Any], list[int]]]

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        if not hasattr(self, "sent"):
            self.sent = []
        self.sent.append((msg_type, data or {}, [len(memoryview(b)) for b in buffers or []]))


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> None:
    """Panels made in the test publish to a `RecordingComm` (``panel.comm.sent``)."""
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))
