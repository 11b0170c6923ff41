"""A hostile class: a gateway over loopback whose upstream (the emulator, in-process)
misbehaves on purpose, and the invariants every draw is held to.

`Flaky` wraps the emulator to add what its own fault script lacks: a request that hangs
for a while and is then dropped, and a 200 answer whose body is not JSON. `invariants`
checks, after the class has settled: budgets exact, no charge without an image (or a
settled refund), no image paid upstream that the class lost, the teacher's key nowhere.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from klein_widget.emulator import Emulator
from klein_widget.emulator import create_app as create_emulator
from klein_widget.gateway import RunningGateway, start
from tests.conftest import FAST_RETRY
from tests.gateway import loopback
from tests.gateway.conftest import FAST, POLL_CAP, SUBMIT, bearer

TEACHER_KEY = "wsk-hostile-class-canary-5f1e9a0c7d"
SETTLED = 20.0  # seconds a class may take to settle every task after the faults stop
SERVED = 5.0  # seconds within which a valid student is answered while the class is hostile


class Flaky:
    """ASGI wrapper: scripted "hang" (sleep ``hang`` s, then hang up), "slow" (sleep, then
    answer) and "garbage" (a 200 that is not JSON) on requests matching a path pattern;
    else the emulator."""

    def __init__(self, app: Any, hang: float = 0.3) -> None:
        self.app = app
        self.hang = hang
        self.scripts: dict[str, deque[str]] = {}

    def script(self, pattern: str, *actions: str) -> None:
        self.scripts.setdefault(pattern, deque()).extend(actions)

    def _next(self, method: str, path: str) -> str | None:
        for pattern, actions in self.scripts.items():
            if actions and fnmatch.fnmatchcase(f"{method} {path}", pattern):
                return actions.popleft()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        action = self._next(scope.get("method", ""), scope.get("path", ""))
        if action == "hang":
            await asyncio.sleep(self.hang)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if action == "slow":  # answers, but only after a long while
            await asyncio.sleep(self.hang)
        if action == "garbage":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"<html>oops</html>"})
            return
        await self.app(scope, receive, send)


class HostileClass:
    """A gateway, its flaky upstream and the emulator behind it."""

    def __init__(self, tmp: Path, **options: Any) -> None:
        self.emulator_app = create_emulator(inference_time=FAST, api_key=TEACHER_KEY)
        self.flaky = Flaky(self.emulator_app)
        settings: dict[str, Any] = {
            "upstream": self.flaky,
            "api_key": TEACHER_KEY,
            "retry": FAST_RETRY,
            "settle_after": 0.05,
            "max_backoff": 0.2,
            **options,
        }
        tmp.mkdir(parents=True, exist_ok=True)
        self.db_path = tmp / "class.sqlite3"
        self.settings = settings
        self.running: RunningGateway = start(self.db_path, **settings)
        self.answers: list[str] = []  # every body the students got, for the key search

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.emulator_app.state.emulator
        return emulator

    @property
    def base(self) -> str:
        return self.running.base_url

    def restart(self) -> None:
        """Stop the gateway (what is in flight stays in the journal) and start it again."""
        self.running.stop()
        self.running = start(self.db_path, **self.settings)

    def submit(self, token: str, **fields: Any) -> httpx.Response:
        payload = {"prompt": "a fox", "size": "320*256", "seed": 1, **fields}
        answer = loopback.post(self.base + SUBMIT, json=payload, headers=bearer(token), timeout=30)
        self.answers.append(answer.text)
        return answer

    def result(self, token: str, task_id: str) -> dict[str, Any]:
        url = f"{self.base}/api/v3/predictions/{task_id}/result"
        answer = loopback.get(url, headers=bearer(token), timeout=30)
        self.answers.append(answer.text)
        data: dict[str, Any] = answer.json()["data"]
        return data

    def settled(self, token: str, task_id: str, limit: float = SETTLED) -> dict[str, Any]:
        """Poll until the task is completed or failed (bounded)."""
        deadline = time.monotonic() + limit
        pause = 0.02
        while time.monotonic() < deadline:
            data = self.result(token, task_id)
            if data["status"] in ("completed", "failed"):
                return data
            time.sleep(pause)
            pause = min(POLL_CAP, pause * 1.5)
        raise AssertionError(f"task {task_id} did not settle in {limit} s: {data}")

    def invariants(self) -> None:
        """Every rule that must hold once every task has settled."""
        db = self.running.gateway.db
        gallery = self.running.gateway.gallery
        tasks = db.tasks("queued", "forwarding", "submitted", "following", "pending",
                         "completed", "failed")  # fmt: skip
        assert all(not t.open for t in tasks), [t.status for t in tasks if t.open]
        for student in db.students():
            mine = [t for t in tasks if t.student == student.name]
            assert student.spent_mills == sum(t.cost_mills for t in mine)  # budgets exact
            assert student.spent_mills <= student.budget_mills
        for task in tasks:
            if task.kind == "image" and task.status == "failed":
                assert task.cost_mills == 0, task  # no charge without an image
            if task.kind == "image" and task.status == "completed":
                entry = gallery.entry(task.upstream_id or "")
                assert entry is not None
                assert entry.path is not None
                assert entry.path.exists()
        made = {t.id for t in self.emulator.tasks.values() if t.request is not None}
        made_ok = {i for i in made if not self.emulator.tasks[i].fail_reason}
        kept = {t.upstream_id for t in tasks if t.status == "completed"}
        assert made_ok <= kept, made_ok - kept  # every image paid upstream reached the class
        paid = sum(t.cost_mills for t in tasks if t.kind == "image")
        assert paid == 8 * len(made_ok)  # charged exactly what upstream made
        self.key_nowhere()

    def key_nowhere(self) -> None:
        assert not any(TEACHER_KEY in a for a in self.answers)
        folder = self.db_path.parent
        for path in folder.rglob("*"):
            if path.is_file():
                assert TEACHER_KEY.encode() not in path.read_bytes(), path


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[Callable[..., HostileClass]]:
    """Make hostile classes (stopped at the end of the test)."""
    made: list[HostileClass] = []

    def make(**options: Any) -> HostileClass:
        made.append(HostileClass(tmp_path / f"class{len(made)}", **options))
        return made[-1]

    yield make
    for one in made:
        one.running.stop()
