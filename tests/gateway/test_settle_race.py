"""Settling a submit of unknown fate while another student asks for the same recipe.

Task A's submit is answered 502 (upstream did not take it), so A waits ``pending`` with no
upstream id and is settled against upstream's history. If a later task B with the same
recipe were sent instead of following A, B's prediction would be in that history before
B's upstream id is in the gateway's rows (B's answer is still on its way), and A would
claim it: two students charged for one image. `Gate` holds each side at the exact point
of that window (no sleeps): the history read until B is upstream (or follows A), and B's
accepted answer until A's fate is written. And when both submits were in fact taken
upstream (answers lost), two pending tasks of one recipe would each see two unowned
matches and stay unsure for ever: B follows A instead, so one image is made and paid once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from klein_widget.gateway._aftercare import HISTORY_PATH
from tests.gateway.conftest import SUBMIT
from tests.gateway.hostile_class.conftest import HostileClass

BOUND = 10.0  # seconds any hold or wait may last: a bug fails the test, never hangs it


def _until(check: Callable[[], bool], limit: float = BOUND) -> bool:
    """Poll ``check`` until true (True) or ``limit`` seconds pass (False)."""
    deadline = time.monotonic() + limit
    pause = 0.005
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(pause)
        pause = min(0.05, pause * 1.5)
    return check()


class Gate:
    """ASGI wrapper over the emulator: the first history read waits for ``release``; an
    accepted submit's answer waits until ``answer_when()`` holds (each bounded)."""

    def __init__(self, app: Any, answer_when: Callable[[], bool]) -> None:
        self.app = app
        self.answer_when = answer_when
        self.release = threading.Event()
        self.held = 0  # accepted submit answers that were held back

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope.get("method"), scope.get("path")
        if (method, path) == ("POST", HISTORY_PATH):
            await asyncio.to_thread(self.release.wait, BOUND)
        if (method, path) != ("POST", SUBMIT):
            await self.app(scope, receive, send)
            return

        async def hold_accepted(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                self.held += 1  # upstream has the task; its id is not in the rows yet
                await asyncio.to_thread(_until, self.answer_when)
            await send(message)

        await self.app(scope, receive, hold_accepted)


def _recipe(prompt: str, seed: int | None, width: int | None, height: int | None) -> str:
    return f"{prompt}|{seed}|{width}x{height}"


def test_a_pending_submit_never_claims_a_later_same_recipe_image(tmp_path: Path) -> None:
    klass = HostileClass(tmp_path)
    db = klass.running.gateway.db
    first: list[str] = []

    def first_decided() -> bool:
        task = db.task(first[0]) if first else None
        return task is not None and task.status != "pending"

    gate = Gate(klass.emulator_app, answer_when=first_decided)
    klass.flaky.app = gate  # the gateway's upstream is `Flaky`, which now calls the gate
    try:
        ada, bob = db.add_student("ada", 100), db.add_student("bob", 100)
        klass.emulator.script("submit", 502)  # not taken upstream, but the gateway can't know
        first.append(klass.submit(ada).json()["data"]["id"])
        assert _until(lambda: getattr(db.task(first[0]), "status", "") == "pending")
        second = klass.submit(bob).json()["data"]["id"]  # the same recipe, a moment later

        def sent_or_following() -> bool:
            task = db.task(second)
            return klass.emulator.accepted >= 1 or getattr(task, "status", "") == "following"

        assert _until(sent_or_following)
        gate.release.set()  # now A's settle may read the history
        ends = {t: klass.settled(tok, t) for tok, t in ((ada, first[0]), (bob, second))}

        tasks = [db.task(t) for t in ends]
        charged = Counter(
            _recipe(t.request.prompt, t.request.seed, t.request.width, t.request.height)
            for t in tasks
            if t is not None and t.cost_mills > 0
        )
        made = Counter(
            _recipe(e.request.prompt, e.request.seed, e.request.width, e.request.height)
            for e in klass.emulator.tasks.values()
            if e.request is not None and not e.fail_reason
        )
        assert charged == made, (charged, made, ends)  # nobody pays for an image not made
        klass.invariants()
    finally:
        gate.release.set()
        klass.running.stop()


def test_a_same_recipe_task_follows_a_pending_one_that_was_made(tmp_path: Path) -> None:
    klass = HostileClass(tmp_path)
    db = klass.running.gateway.db
    gate = Gate(klass.emulator_app, answer_when=lambda: True)
    klass.flaky.app = gate
    try:
        ada, bob = db.add_student("ada", 100), db.add_student("bob", 100)
        # Both submits would be taken upstream with their answers lost: two pending tasks
        # of one recipe would each see two unowned matches and stay unsure for ever.
        klass.emulator.script("submit", "drop", "drop")
        first = klass.submit(ada).json()["data"]["id"]
        assert _until(lambda: getattr(db.task(first), "status", "") == "pending")
        second = klass.submit(bob).json()["data"]["id"]
        assert _until(lambda: getattr(db.task(second), "status", "") in ("following", "pending"))
        gate.release.set()
        ends = [klass.settled(ada, first), klass.settled(bob, second)]
        assert [e["status"] for e in ends] == ["completed", "completed"]
        made, shared = db.task(first), db.task(second)
        assert made is not None
        assert shared is not None
        assert (made.upstream_id, made.cost_mills, shared.cost_mills) == (shared.upstream_id, 8, 0)
        assert klass.emulator.accepted == 1  # sent once
        klass.invariants()
    finally:
        gate.release.set()
        klass.running.stop()
