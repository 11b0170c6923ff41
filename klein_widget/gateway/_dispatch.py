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
Every database call goes through the gateway's `DBThread`: nothing here blocks the loop.

A task's fate, read from the client's answer (`Dispatcher._send`): completed; accepted
upstream and followed by `Aftercare`; refused or failed (refunded: WaveSpeed refunds failed
tasks too); put back in line after a 429 that was surely not taken; or of unknown fate,
held "pending" and settled against upstream's record (`_aftercare`).

Example:
    >>> dispatcher = Dispatcher(db, upstream, run, store, max_concurrency=8)  # doctest: +SKIP
    >>> dispatcher.start(); dispatcher.enqueue(task)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque

from klein_widget.client._exceptions import (
    APIConnectionError,
    AuthenticationError,
    GenerationFailedError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._run import Progress
from klein_widget.client.batch._concurrency import Concurrency
from klein_widget.gateway._aftercare import PENDING, Aftercare
from klein_widget.gateway._checks import StoreWatch
from klein_widget.gateway._db import ClassDB, DBThread
from klein_widget.gateway._lines import Lines
from klein_widget.gateway._rows import OPEN_STATUSES, GatewayTask
from klein_widget.gateway._upstream import Upstream

__all__ = ["KEY_REFUSED", "STORE_REFUSED", "Dispatcher"]

_log = logging.getLogger(__name__)
KEY_REFUSED = (
    "WaveSpeed refused the gateway's own key (the teacher's, not your token), so nothing "
    "was made and nothing was charged: tell your teacher."
)
UPSTREAM_DOWN = (
    "The gateway could not reach WaveSpeed, so nothing was sent and nothing was charged: "
    "ask again in a minute, or tell your teacher if it goes on."
)
ENHANCE_LOST = (
    "The prompt optimizer's answer was lost ({}); it may have run and been charged "
    "($0.001). Ask again."
)
STORE_REFUSED = "The class's image store cannot keep images now ({}), so nothing was sent "
STORE_REFUSED += "and your charge was refunded: tell your teacher."


class Dispatcher:
    """Round-robin over students, at most `Concurrency.limit` tasks being submitted at once
    (tasks already accepted upstream are followed by `Aftercare` outside that limit)."""

    def __init__(
        self,
        db: ClassDB,
        upstream: Upstream,
        run: DBThread,
        store: StoreWatch,
        *,
        max_concurrency: int,
        **aftercare: float,
    ) -> None:
        self.db = db
        self.upstream = upstream
        self.run = run
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
        self._loop_task = asyncio.get_running_loop().create_task(self._dispatch())

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

    async def _dispatch(self) -> None:
        assert self._wake is not None
        await self.resume_journal()
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
            self._start_job(task)

    def _start_job(self, task: GatewayTask) -> None:
        self.concurrency.started(task.seq)
        job = asyncio.get_running_loop().create_task(self._forward(task))
        self._running[task.id] = job
        job.add_done_callback(lambda _: self._slot_freed(task.id))

    def _slot_freed(self, task_id: str) -> None:
        self._running.pop(task_id, None)
        if self._wake is not None:
            self._wake.set()

    async def finished(self, task_id: str) -> None:
        """A task's work has ended: if it is done, wake its waiters (its followers were
        settled in the write that finished it: `ClassDB.update`, `ClassDB.refund`)."""
        task = await self.run(self.db.task, task_id)
        if task is not None and not task.open:
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

    # --- one task: sent, and its fate read from the answer ------------------------------

    async def _send(self, task: GatewayTask) -> None:
        """Send one task upstream through the client and wait for its image."""
        began = time.monotonic()
        problem = await self.store.problem()
        if problem is not None:  # never charge for an image the class cannot keep
            self.concurrency.failed(task.seq)
            await self.run(self.db.refund, task.id, STORE_REFUSED.format(problem))
            return
        await self.run(self.db.update, task.id, status="forwarding")  # may reach upstream now

        def progress(step: Progress) -> None:
            if step.stage == "submitted" and step.task_id:
                self.run.post(self.db.update, task.id, status="submitted", upstream_id=step.task_id)
            elif step.stage in ("queued", "processing"):
                self.concurrency.stage(task.seq, step.stage)
            elif step.stage == "rate_limited":
                self.concurrency.rate_limited()

        request = dataclasses.replace(task.request, sync_mode=False, base64_output=False)
        try:
            if task.kind == "enhance":
                text = await self.upstream.client.enhance_prompt(request.prompt, style=task.style)
                await self.run(self.db.update, task.id, status="completed", text_output=text)
            else:
                gen = await self.upstream.client.generate(request, fresh=True, on_progress=progress)
                if gen.path is None:  # made and paid, but the store could not keep it: retry
                    await self._accepted(task, gen.task_id)
                    return
                await self.run(
                    self.db.update,
                    task.id,
                    status="completed",
                    upstream_id=gen.task_id,
                    inference_ms=gen.prediction.inference_ms,
                )
            self.concurrency.succeeded(task.seq)
            self._durations.append(time.monotonic() - began)
        except KleinError as error:
            await self._failed(task, error)
        except Exception:  # a bug must not leave a paid task without a trace
            _log.exception("task %s: unexpected error", task.id)
            self.concurrency.failed(task.seq)
            await self._unknown(task, "the gateway's own error")

    async def _unknown(self, task: GatewayTask, why: str) -> None:
        """The submit may have reached upstream: settle an image against upstream's record;
        an optimizer run ($0.001, not matched in the history) stays charged, and says so."""
        if task.kind == "enhance":
            await self.run(self.db.update, task.id, status="failed", error=ENHANCE_LOST.format(why))
            return
        await self.run(self.db.update, task.id, status="pending", error=PENDING)
        self.care.settle(task.id)

    async def _accepted(self, task: GatewayTask, upstream_id: str) -> None:
        """Upstream has it (paid): follow it outside the submit slots until it ends."""
        self.concurrency.failed(task.seq)
        await self.run(self.db.update, task.id, status="submitted", upstream_id=upstream_id)
        self.care.follow(task.id, upstream_id)

    async def _failed(self, task: GatewayTask, error: KleinError) -> None:
        if isinstance(error, RateLimitError) and not error.maybe_accepted:
            # Not taken upstream: back to the front of its line, everyone waits.
            self.concurrency.rate_limited(task.seq)
            self._paused_until = time.monotonic() + (error.retry_after or 5.0)
            await self.run(self.db.update, task.id, status="queued")
            self._lines.push_front(task.student, task.id)
            return
        if error.task_id and error.maybe_accepted and not isinstance(error, GenerationFailedError):
            await self._accepted(task, error.task_id)
            return
        self.concurrency.failed(task.seq)
        if isinstance(error, AuthenticationError) and not error.maybe_accepted:
            _log.error("upstream refused the gateway's key: %s", error.message)
            await self.run(
                self.db.refund, task.id, KEY_REFUSED
            )  # the client's words name a variable
        elif isinstance(error, APIConnectionError) and not error.maybe_accepted:
            await self.run(self.db.refund, task.id, UPSTREAM_DOWN)  # not the student's URL
        elif isinstance(error, GenerationFailedError) or not error.maybe_accepted:
            # Refused, or failed upstream (WaveSpeed refunds failed tasks): refund too.
            await self.run(self.db.refund, task.id, error.message)
        else:
            await self._unknown(task, error.message)

    # --- after a restart -----------------------------------------------------------------

    async def resume_journal(self) -> None:
        """Queue what was queued; follow what upstream accepted; settle what may have
        reached it (never re-sent)."""
        for task in await self.run(self.db.tasks, *OPEN_STATUSES):
            if task.status == "following":
                leader = await self.run(self.db.task, task.leader or "")
                if leader is None or not leader.open:  # a journal from before they settled
                    await self.run(self.db.settle_followers, task.leader or "")
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
