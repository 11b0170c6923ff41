"""What the batch runner's two flavours share: the rate-limit gate, and how jobs run
(threads or asyncio tasks).

The runner loop itself is written once, awaited, in `_batch_async` (``arun_plan``);
``python scripts/unasync.py`` generates the blocking twin in `_batch_sync`, swapping
`AsyncJobs` (asyncio tasks, callbacks on the loop) for `ThreadJobs` (a thread pool, every
callback handed over to the caller's thread, so a door may update its display).
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from klein_widget.client._generation import Generation
from klein_widget.client._run import Progress, ProgressCallback
from klein_widget.client.batch._concurrency import Concurrency
from klein_widget.client.batch._pacing import ANSWER_POLL, Pacer
from klein_widget.client.batch._tally import BatchOptions, Tally

__all__ = [
    "DEFAULT_OPTIONS",
    "AsyncJobs",
    "BatchOptions",
    "PacingGate",
    "ThreadJobs",
    "reporter",
]

_TICK = 0.1  # seconds between deliveries of progress to the caller's thread

Outcome = Generation | BaseException


DEFAULT_OPTIONS = BatchOptions()


def reporter(
    control: Concurrency, job: int, deliver: ProgressCallback | None, unsent: set[int]
) -> ProgressCallback:
    """The ``on_progress`` of one job: tells the controller and the gate, then the caller."""

    def report(progress: Progress) -> None:
        if progress.stage not in ("submitting", "rate_limited"):
            unsent.discard(job)  # its submit is answered: the pacer has counted it
        if progress.wait is None:  # pacing waits are ours, not WaveSpeed pushing back
            control.stage(job, progress.stage)
        if deliver is not None:
            deliver(progress)

    return report


class PacingGate:
    """Starts no more submits than the client's pacer has room for (the rate limit),
    counting those started whose submit is not yet answered; shows the countdown."""

    def __init__(self, pacer: Pacer, tally: Tally, on_progress: ProgressCallback | None):
        self.pacer, self.tally, self.on_progress = pacer, tally, on_progress
        self.unsent: set[int] = set()
        self._told = -float("inf")

    def room(self) -> bool:
        return self.pacer.free() > len(self.unsent)

    def pause(self, pause: float | None) -> float | None:
        """The runner's pause, shortened while jobs wait for room; the countdown is shown."""
        if not self.tally.waiting or self.room():
            return pause
        wait = self.pacer.wait()
        if wait > 0.1 and time.monotonic() - self._told >= 1.0:
            self._told = time.monotonic()
            note = self.pacer.note()
            self.tally.bar.note(note)
            if self.on_progress is not None:
                request = self.tally.plan.jobs[self.tally.waiting[0][1]].request
                self.on_progress(Progress("rate_limited", 0.0, request, note=note, wait=wait))
        step = min(max(wait, ANSWER_POLL), 1.0)
        return step if pause is None else min(pause, step)


class ThreadJobs:
    """Jobs on a thread pool; their progress is queued and delivered in the caller's thread."""

    may_ask = True  # a blocking batch may ask a person before spending

    def __init__(self, workers: int, on_progress: ProgressCallback | None) -> None:
        self.running: dict[Future[Generation], int] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="klein-batch")
        self._on_progress = on_progress
        self._steps: queue.SimpleQueue[Progress] = queue.SimpleQueue()
        self.deliver = self._steps.put if on_progress is not None else None

    def start(self, job: int, call: Callable[..., Generation], *args: Any, **kwargs: Any) -> None:
        self.running[self._pool.submit(call, *args, **kwargs)] = job

    def wait(self, pause: float | None) -> list[tuple[int, Outcome]]:
        """Wait up to ``pause`` (None: until one ends) and return the jobs that ended."""
        if self._on_progress is not None:  # come back to hand over progress
            pause = _TICK if pause is None else min(pause, _TICK)
        if not self.running:
            time.sleep(pause or 0.0)
            return []
        done, _ = wait(self.running, timeout=pause, return_when=FIRST_COMPLETED)
        while self._on_progress is not None and not self._steps.empty():
            self._on_progress(self._steps.get())
        ended = []
        for future in done:
            error = future.exception()
            ended.append((self.running.pop(future), future.result() if error is None else error))
        return ended

    def close(self) -> None:
        # On an interrupt, queued jobs are dropped; those in flight finish in the
        # background and land in the gallery, so a rerun skips them.
        self._pool.shutdown(wait=not self.running, cancel_futures=True)


class AsyncJobs:
    """Jobs as asyncio tasks; their progress is reported on the loop as it comes."""

    may_ask = False  # async code never stops the loop to ask: it raises instead

    def __init__(self, workers: int, on_progress: ProgressCallback | None) -> None:
        self.running: dict[asyncio.Task[Generation], int] = {}
        self.deliver = on_progress

    def start(
        self, job: int, call: Callable[..., Awaitable[Generation]], *args: Any, **kwargs: Any
    ) -> None:
        self.running[asyncio.ensure_future(call(*args, **kwargs))] = job

    async def wait(self, pause: float | None) -> list[tuple[int, Outcome]]:
        """Wait up to ``pause`` (None: until one ends) and return the jobs that ended."""
        if not self.running:
            await asyncio.sleep(pause or 0.0)
            return []
        done, _ = await asyncio.wait(
            self.running, timeout=pause, return_when=asyncio.FIRST_COMPLETED
        )
        ended: list[tuple[int, Outcome]] = []
        for task in done:
            error = asyncio.CancelledError() if task.cancelled() else task.exception()
            ended.append((self.running.pop(task), task.result() if error is None else error))
        return ended

    def close(self) -> None:
        for task in self.running:  # cancelled with us; accepted tasks stay in the journal
            task.cancel()
