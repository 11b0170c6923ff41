"""The gateway's queue: students served round-robin under the upstream's learned limits.

Every queued task waits in its student's line; the dispatcher takes one task from each
student in turn, so one student's 64-image grid does not starve the class. How many tasks
are upstream at once is the client's own AIMD controller (`Concurrency`): halved on a 429,
narrowed while upstream queues our tasks, grown back by successes; a 429's Retry-After
pauses every dispatch until then. Each task goes through `AsyncKleinClient.generate`, whose
rules decide what may be sent again; the journal row says ``forwarding`` before the submit
leaves and ``submitted`` (with the upstream id) once it is accepted, so a restarted gateway
fetches what was paid for and never sends it twice (`resume_journal`). What happens after
the submit (following an accepted task, settling one of unknown fate) is `_aftercare`'s.
Sending a task and reading its fate is `_forward`'s. Every database call goes through the
gateway's `DBThread`: nothing here blocks the loop.

Example:
    >>> dispatcher = Dispatcher(db, upstream)  # doctest: +SKIP
    >>> dispatcher.start(); dispatcher.enqueue(task)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Coroutine
from typing import Any

from klein_widget.client.batch._concurrency import Concurrency
from klein_widget.gateway._aftercare import Aftercare
from klein_widget.gateway._checks import StoreWatch
from klein_widget.gateway._db import ClassDB
from klein_widget.gateway._forward import KEY_REFUSED, STORE_REFUSED, Forwarding
from klein_widget.gateway._lines import Lines
from klein_widget.gateway._rows import GatewayTask
from klein_widget.gateway._upstream import Upstream
from klein_widget.gateway._worker import DBThread

__all__ = ["KEY_REFUSED", "STORE_REFUSED", "Dispatcher"]

_log = logging.getLogger(__name__)


class Dispatcher(Forwarding):
    """Round-robin over students, at most `Concurrency.limit` tasks being submitted at once
    (tasks already accepted upstream are followed by `Aftercare` outside that limit)."""

    def __init__(
        self,
        db: ClassDB,
        upstream: Upstream,
        *,
        max_concurrency: int = 8,
        run: DBThread | None = None,
        store: StoreWatch | None = None,
        **aftercare: float,
    ) -> None:
        self.db = db
        self.upstream = upstream
        self.run = run or DBThread()
        self.store = store
        self.care = Aftercare(db, self.run, upstream, self.finished, **aftercare)
        self.concurrency = Concurrency(maximum=max_concurrency)
        self._lines = Lines()  # student -> queued ids, round-robin
        self._running: dict[str, asyncio.Task[None]] = {}
        self._finishing: set[asyncio.Task[None]] = set()  # `finished` after a job ended
        self._done: dict[str, asyncio.Event] = {}
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self._durations: deque[float] = deque(maxlen=50)  # seconds per task, for waits

    # --- the students' side ------------------------------------------------------------

    def start(self) -> None:
        """Start dispatching on the running loop; resume the journal first (idempotent)."""
        if self._loop_task is not None and not self._loop_task.done():
            return
        self._wake = asyncio.Event()
        self._loop_task = asyncio.get_running_loop().create_task(self._main())

    async def stop(self) -> None:
        """Stop dispatching; tasks upstream are left to the journal (resumed next start)."""
        for job in [self._loop_task, *self._running.values()]:
            if job is not None:
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await job
        # A cancelled job's shielded `finished` still runs: it ends before the DB thread.
        await asyncio.gather(*self._finishing, return_exceptions=True)
        await self.care.stop()
        self._loop_task = None

    def enqueue(self, task: GatewayTask) -> None:
        """Put a queued task at the end of its student's line."""
        self._lines.push(task.student, task.id)
        self._done.setdefault(task.id, asyncio.Event())
        if self._wake is not None:
            self._wake.set()

    async def wait_done(self, task_id: str, timeout: float) -> bool:
        """Wait until the task has finished (True) or ``timeout`` seconds pass (False)."""
        task = await self.run(self.db.task, task_id)
        if task is not None and task.leader is not None:  # shares another task's image
            task = await self.run(self.db.task, task.leader)
        if task is None or not task.open:
            return True
        event = self._done.setdefault(task.id, asyncio.Event())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return event.is_set()

    def position(self, task_id: str, student: str) -> tuple[int, float] | None:
        """(1-based place in the whole queue, estimated seconds until it starts), if queued
        (round-robin order: `Lines.ahead`)."""
        ahead = self._lines.ahead(task_id, student)
        if ahead is None:
            return None
        slots = max(1, self.concurrency.limit)
        per_task = sum(self._durations) / len(self._durations) if self._durations else 1.0
        busy = len(self._running) >= slots
        wait = (ahead // slots + (1 if busy else 0)) * per_task
        wait += max(0.0, self._paused_until - time.monotonic())
        return ahead + 1, round(wait, 1)

    @property
    def queued(self) -> int:
        """Tasks waiting for a slot."""
        return len(self._lines)

    @property
    def running(self) -> int:
        """Tasks upstream now (being submitted, or followed after acceptance)."""
        return len(self._running) + len(self.care.jobs)

    # --- the loop ------------------------------------------------------------------------

    async def _main(self) -> None:
        await self.resume_journal()
        await self._dispatch()

    async def _dispatch(self) -> None:
        assert self._wake is not None
        while True:
            pause = self._paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            if len(self._running) >= self.concurrency.limit or not self._lines:
                self._wake.clear()
                await self._wake.wait()
                continue
            task_id = self._lines.take()
            task = await self.run(self.db.task, task_id) if task_id else None
            if task is None or task.status != "queued":
                continue
            self._start_job(task, self._forward(task))

    def _start_job(self, task: GatewayTask, work: Coroutine[Any, Any, None]) -> None:
        self.concurrency.started(task.seq)
        job = asyncio.get_running_loop().create_task(work)
        self._running[task.id] = job
        job.add_done_callback(lambda _: self._slot_freed(task.id))

    def _slot_freed(self, task_id: str) -> None:
        self._running.pop(task_id, None)
        if self._wake is not None:
            self._wake.set()

    async def finished(self, task_id: str) -> None:
        """A task's work has ended: if it is done, settle its followers and wake waiters."""
        task = await self.run(self.db.task, task_id)
        if task is not None and not task.open:
            await self.run(self.db.settle_followers, task)
            self._done.setdefault(task_id, asyncio.Event()).set()
            self._done.pop(task_id, None)

    async def _forward(self, task: GatewayTask) -> None:
        try:
            await self._send(task)
        finally:
            finishing = asyncio.get_running_loop().create_task(self.finished(task.id))
            self._finishing.add(finishing)
            finishing.add_done_callback(self._finishing.discard)
            await asyncio.shield(finishing)

    # --- after a restart -----------------------------------------------------------------

    async def resume_journal(self) -> None:
        """Queue what was queued; follow what upstream accepted; settle what may have
        reached it (never re-sent)."""
        statuses = ("queued", "forwarding", "submitted", "following", "pending")
        for task in await self.run(self.db.tasks, *statuses):
            if task.status == "following":
                leader = await self.run(self.db.task, task.leader or "")
                if leader is None or not leader.open:  # finished while we were down
                    gone = leader or dataclasses.replace(task, status="failed")
                    await self.run(self.db.settle_followers, gone)
                continue
            if task.status == "queued":
                self.enqueue(task)
                continue
            self._done.setdefault(task.id, asyncio.Event())
            upstream_id = task.upstream_id
            journal = self.upstream.client.journal
            if upstream_id is None and task.kind == "image" and journal is not None:
                find = journal.unfinished_task
                upstream_id = await asyncio.to_thread(find, task.request, self.upstream.origin)
            if upstream_id is not None:
                await self.run(self.db.update, task.id, status="submitted", upstream_id=upstream_id)
                self.care.follow(task.id, upstream_id)
            else:
                await self._unknown(task, "the gateway stopped while sending it")
