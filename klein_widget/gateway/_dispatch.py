"""The gateway's queue: students served round-robin under the upstream's learned limits.

Every queued task waits in its student's line; the dispatcher takes one task from each
student in turn, so one student's 64-image grid does not starve the class. How many tasks
are upstream at once is the client's own AIMD controller (`Concurrency`): halved on a 429,
narrowed while upstream queues our tasks, grown back by successes; a 429's Retry-After
pauses every dispatch until then. Each task goes through `AsyncKleinClient.generate`, whose
rules decide what may be sent again; the journal row says ``forwarding`` before the submit
leaves and ``submitted`` (with the upstream id) once it is accepted, so a restarted gateway
fetches what was paid for and never sends it twice (`resume_journal`).

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
from collections import OrderedDict, deque
from collections.abc import Coroutine
from typing import Any

from klein_widget.client._exceptions import (
    AuthenticationError,
    GenerationFailedError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._run import Progress
from klein_widget.client.batch._concurrency import Concurrency
from klein_widget.gateway._db import ClassDB
from klein_widget.gateway._rows import GatewayTask
from klein_widget.gateway._upstream import Upstream

__all__ = ["Dispatcher"]

_log = logging.getLogger(__name__)
_RESUMES = 3  # fetches of an accepted task before it is reported lost (still charged)
KEY_REFUSED = (
    "WaveSpeed refused the gateway's own key (the teacher's, not your token), so nothing "
    "was made and nothing was charged: tell your teacher."
)
NOT_RESENT = (
    "The connection to WaveSpeed broke after this task was sent, so it may have been "
    "accepted and billed; the gateway did not send it again. Ask your teacher."
)


class Dispatcher:
    """Round-robin over students, at most `Concurrency.limit` tasks upstream at once."""

    def __init__(self, db: ClassDB, upstream: Upstream, *, max_concurrency: int = 8) -> None:
        self.db = db
        self.upstream = upstream
        self.concurrency = Concurrency(maximum=max_concurrency)
        self._lines: OrderedDict[str, deque[str]] = OrderedDict()  # student -> queued ids
        self._running: dict[str, asyncio.Task[None]] = {}
        self._done: dict[str, asyncio.Event] = {}
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._paused_until = 0.0
        self._durations: deque[float] = deque(maxlen=50)  # seconds per task, for waits

    # --- the students' side ------------------------------------------------------------

    def start(self) -> None:
        """Start dispatching on the running loop; resume the journal (idempotent)."""
        if self._loop_task is not None and not self._loop_task.done():
            return
        self._wake = asyncio.Event()
        self.resume_journal()
        self._loop_task = asyncio.get_running_loop().create_task(self._dispatch())

    async def stop(self) -> None:
        """Stop dispatching; tasks upstream are left to the journal (resumed next start)."""
        for job in [self._loop_task, *self._running.values()]:
            if job is not None:
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await job
        self._loop_task = None

    def enqueue(self, task: GatewayTask) -> None:
        """Put a queued task at the end of its student's line."""
        self._lines.setdefault(task.student, deque()).append(task.id)
        self._done.setdefault(task.id, asyncio.Event())
        if self._wake is not None:
            self._wake.set()

    async def wait_done(self, task_id: str, timeout: float) -> bool:
        """Wait until the task has finished (True) or ``timeout`` seconds pass (False)."""
        task = self.db.task(task_id)
        if task is not None and task.leader is not None:  # shares another task's image
            task = self.db.task(task.leader)
        if task is None or not task.open:
            return True
        event = self._done.setdefault(task.id, asyncio.Event())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return event.is_set()

    def position(self, task_id: str, student: str) -> tuple[int, float] | None:
        """(1-based place in the whole queue, estimated seconds until it starts), if queued.

        Round-robin order: before the k-th task of its student go that student's k-1 and,
        from every other line, at most k (k-1 for lines served after it this round).
        """
        line = self._lines.get(student)
        if line is None or task_id not in line:
            return None
        k = line.index(task_id)
        ahead = k
        names = list(self._lines)
        mine = names.index(student)
        for i, name in enumerate(names):
            if name != student:
                ahead += min(len(self._lines[name]), k + (1 if i < mine else 0))
        slots = max(1, self.concurrency.limit)
        per_task = sum(self._durations) / len(self._durations) if self._durations else 1.0
        busy = len(self._running) >= slots
        wait = (ahead // slots + (1 if busy else 0)) * per_task
        wait += max(0.0, self._paused_until - time.monotonic())
        return ahead + 1, round(wait, 1)

    @property
    def queued(self) -> int:
        """Tasks waiting for a slot."""
        return sum(len(line) for line in self._lines.values())

    @property
    def running(self) -> int:
        """Tasks upstream now."""
        return len(self._running)

    # --- the loop ------------------------------------------------------------------------

    def _next(self) -> str | None:
        """The next task id, round-robin: take from the first line, move it to the back."""
        while self._lines:
            student, line = next(iter(self._lines.items()))
            self._lines.move_to_end(student)
            if line:
                task_id = line.popleft()
                if not line:
                    del self._lines[student]
                return task_id
            del self._lines[student]
        return None

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
            task_id = self._next()
            task = self.db.task(task_id) if task_id else None
            if task is None or task.status != "queued":
                continue
            self._start_job(task, self._forward(task))

    def _start_job(self, task: GatewayTask, work: Coroutine[Any, Any, None]) -> None:
        self.concurrency.started(task.seq)
        job = asyncio.get_running_loop().create_task(work)
        self._running[task.id] = job
        job.add_done_callback(lambda _: self._finished(task.id))

    def _finished(self, task_id: str) -> None:
        self._running.pop(task_id, None)
        task = self.db.task(task_id)
        if task is not None and not task.open:
            self.db.settle_followers(task)
            self._done.setdefault(task_id, asyncio.Event()).set()
            self._done.pop(task_id, None)
        if self._wake is not None:
            self._wake.set()

    async def _forward(self, task: GatewayTask) -> None:
        """Send one task upstream through the client and wait for its image."""
        began = time.monotonic()
        self.db.update(task.id, status="forwarding")  # from here it may reach upstream

        def progress(step: Progress) -> None:
            if step.stage == "submitted" and step.task_id:
                self.db.update(task.id, status="submitted", upstream_id=step.task_id)
            elif step.stage in ("queued", "processing"):
                self.concurrency.stage(task.seq, step.stage)
            elif step.stage == "rate_limited":
                self.concurrency.rate_limited()

        request = dataclasses.replace(task.request, sync_mode=False, base64_output=False)
        try:
            if task.kind == "enhance":
                text = await self.upstream.client.enhance_prompt(request.prompt, style=task.style)
                self.db.update(task.id, status="completed", text_output=text)
            else:
                gen = await self.upstream.client.generate(request, fresh=True, on_progress=progress)
                self.db.update(
                    task.id,
                    status="completed",
                    upstream_id=gen.task_id,
                    inference_ms=gen.prediction.inference_ms,
                )
            self.concurrency.succeeded(task.seq)
            self._durations.append(time.monotonic() - began)
        except KleinError as error:
            await self._failed(task, error)
        except Exception as error:  # a bug must not leave a paid task without a trace
            _log.exception("task %s: unexpected error", task.id)
            self.concurrency.failed(task.seq)
            self.db.update(task.id, status="failed", error=f"gateway error: {type(error).__name__}")

    async def _failed(self, task: GatewayTask, error: KleinError) -> None:
        if isinstance(error, RateLimitError) and not error.maybe_accepted:
            # Not taken upstream: back to the front of its line, everyone waits.
            self.concurrency.rate_limited(task.seq)
            self._paused_until = time.monotonic() + (error.retry_after or 5.0)
            self.db.update(task.id, status="queued")
            self._lines.setdefault(task.student, deque()).appendleft(task.id)
            self._lines.move_to_end(task.student, last=False)
            return
        self.concurrency.failed(task.seq)
        if isinstance(error, AuthenticationError) and not error.maybe_accepted:
            _log.error("upstream refused the gateway's key: %s", error.message)
            self.db.refund(task.id, KEY_REFUSED)  # the client's words would name a variable
        elif isinstance(error, GenerationFailedError) or not error.maybe_accepted:
            # Refused, or failed upstream (WaveSpeed refunds failed tasks): refund too.
            self.db.refund(task.id, error.message)
        elif error.task_id:
            self.db.update(task.id, status="submitted", upstream_id=error.task_id)
            await self._resume(task.id, error.task_id)
        else:
            self.db.update(task.id, status="failed", error=NOT_RESENT)

    # --- after a restart -----------------------------------------------------------------

    def resume_journal(self) -> None:
        """Queue what was queued; fetch what upstream accepted; never re-send the rest."""
        for task in self.db.tasks("queued", "forwarding", "submitted", "following"):
            if task.status == "following":
                leader = self.db.task(task.leader or "")
                if leader is None or not leader.open:  # finished while we were down
                    self.db.settle_followers(leader or dataclasses.replace(task, status="failed"))
                continue
            if task.status == "queued":
                self.enqueue(task)
                continue
            upstream_id = task.upstream_id
            if upstream_id is None and task.kind == "image" and self.upstream.client.journal:
                upstream_id = self.upstream.client.journal.unfinished_task(
                    task.request, self.upstream.origin
                )
            if upstream_id is None:
                self.db.update(task.id, status="failed", error=NOT_RESENT)
                continue
            self.db.update(task.id, status="submitted", upstream_id=upstream_id)
            self._done.setdefault(task.id, asyncio.Event())
            self._start_job(task, self._resume(task.id, upstream_id))

    async def _resume(self, task_id: str, upstream_id: str) -> None:
        task = self.db.task(task_id)
        assert task is not None
        request = dataclasses.replace(task.request, sync_mode=False, base64_output=False)
        last = ""
        for _ in range(_RESUMES):
            try:
                gen = await self.upstream.client.fetch(upstream_id, request=request)
            except GenerationFailedError as error:
                self.db.refund(task_id, error.message)
                break
            except KleinError as error:
                last = error.message
                continue
            self.db.update(task_id, status="completed", inference_ms=gen.prediction.inference_ms)
            self.concurrency.succeeded(task.seq)
            return
        else:
            self.db.update(task_id, status="failed", error=f"the image never arrived: {last}")
        self.concurrency.failed(task.seq)
