"""The two mirrored loops that run a planned batch: one on threads (works inside a running
notebook cell: no event loop of its own), one on asyncio tasks.

`_fanout` plans `generate_many` and `resume` plans a fetch-only batch; both run here. The
client tells the loops of every 429 it waits out (a ``rate_limited`` progress stage), and
the concurrency controller backs off. ``on_item`` and ``on_progress`` are called in the
caller's thread (the threads' steps are queued and handed over), so a door may update its
display from them.
"""

from __future__ import annotations

import asyncio
import queue
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from klein_widget.client._concurrency import DEFAULT_CONCURRENCY, Concurrency
from klein_widget.client._generation import Generation
from klein_widget.client._journal import Journal
from klein_widget.client._plan import BatchResult, Plan
from klein_widget.client._run import Progress
from klein_widget.client._tally import ItemCallback, Tally

if TYPE_CHECKING:
    from klein_widget.client._async_client import AsyncKleinClient
    from klein_widget.client._base import BaseClient
    from klein_widget.client._run import ProgressCallback
    from klein_widget.client._sync_client import KleinClient

__all__ = ["arun_plan", "run_plan"]

_TICK = 0.1  # seconds between deliveries of progress to the caller's thread
_ANSWER_TICK = 0.02  # seconds between looks while a started submit awaits its answer


def _reporter(
    control: Concurrency, job: int, deliver: ProgressCallback | None, unsent: set[int]
) -> ProgressCallback:
    def report(progress: Progress) -> None:
        if progress.stage not in ("submitting", "rate_limited"):
            unsent.discard(job)  # its submit is answered: the pacer has counted it
        if progress.wait is None:  # pacing waits are ours, not WaveSpeed pushing back
            control.stage(job, progress.stage)
        if deliver is not None:
            deliver(progress)

    return report


class _Gate:
    """Starts no more submits than the client's pacer has room for (the rate limit),
    counting those started whose submit is not yet answered; shows the countdown."""

    def __init__(self, client: BaseClient, tally: Tally, on_progress: ProgressCallback | None):
        self.pacer, self.tally, self.on_progress = client.pacer, tally, on_progress
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
            show = getattr(self.tally.bar, "note", None)
            if callable(show):
                show(note)
            if self.on_progress is not None:
                request = self.tally.plan.jobs[self.tally.waiting[0][1]].request
                self.on_progress(Progress("rate_limited", 0.0, request, note=note, wait=wait))
        step = min(max(wait, _ANSWER_TICK), 1.0)
        return step if pause is None else min(pause, step)


def _tally(
    client: BaseClient,
    plan: Plan,
    journal: Journal | None,
    progress: bool | None,
    timeout: float | None,
    on_item: ItemCallback | None,
    resubmit_lost: bool,
    keep_images: bool | None,
) -> Tally:
    return Tally(
        plan,
        client.journal if journal is None else journal,
        progress=progress,
        timeout=client.timeout if timeout is None else timeout,
        on_item=on_item,
        resubmit_lost=resubmit_lost,
        keep_images=keep_images,
    )


# --- the runners (keep them mirrored) ---------------------------------------------------------


def run_plan(
    client: KleinClient,
    plan: Plan,
    *,
    concurrency: int | Concurrency = DEFAULT_CONCURRENCY,
    progress: bool | None = False,
    timeout: float | None = None,
    on_item: ItemCallback | None = None,
    on_progress: ProgressCallback | None = None,
    journal: Journal | None = None,
    resubmit_lost: bool = True,
    keep_images: bool | None = True,
) -> BatchResult:
    """Run a planned batch on threads. ``journal`` (default: the client's) hears of paid
    tasks that fail; ``resubmit_lost=False`` only fetches (what `resume` needs)."""
    control = concurrency if isinstance(concurrency, Concurrency) else Concurrency(concurrency)
    tally = _tally(client, plan, journal, progress, timeout, on_item, resubmit_lost, keep_images)
    steps: queue.SimpleQueue[Progress] = queue.SimpleQueue()  # workers -> the caller's thread
    deliver = steps.put if on_progress is not None else None
    running: dict[Future[Generation], int] = {}
    pool = ThreadPoolExecutor(max_workers=control.maximum, thread_name_prefix="klein-batch")
    gate = _Gate(client, tally, on_progress)
    try:
        while tally.waiting or running:
            now = time.monotonic()
            while (
                len(running) < control.limit
                and gate.room()
                and (job := tally.next_ready(now)) is not None
            ):
                control.started(job)
                todo = plan.jobs[job]
                if todo.task_id is not None:
                    future = pool.submit(
                        client.fetch, todo.task_id, request=todo.request, timeout=timeout
                    )
                else:
                    gate.unsent.add(job)
                    future = pool.submit(
                        client.generate,
                        todo.request,
                        timeout=timeout,
                        on_progress=_reporter(control, job, deliver, gate.unsent),
                        fresh=True,  # the plan already took what was made before
                    )
                running[future] = job
            pause = gate.pause(tally.wake_in(now))
            if on_progress is not None:
                pause = _TICK if pause is None else min(pause, _TICK)
            if not running:
                time.sleep(pause or 0.0)
                continue
            done, _ = wait(running, timeout=pause, return_when=FIRST_COMPLETED)
            while on_progress is not None and not steps.empty():
                on_progress(steps.get())
            for future in done:
                error = future.exception()
                outcome = future.result() if error is None else error
                job = running.pop(future)
                gate.unsent.discard(job)
                tally.record(job, outcome, control, time.monotonic())
    finally:
        # On an interrupt, queued jobs are dropped; those in flight finish in the
        # background and land in the gallery, so a rerun skips them.
        pool.shutdown(wait=not running, cancel_futures=True)
        tally.bar.close()
    return tally.result()


async def arun_plan(
    client: AsyncKleinClient,
    plan: Plan,
    *,
    concurrency: int | Concurrency = DEFAULT_CONCURRENCY,
    progress: bool | None = False,
    timeout: float | None = None,
    on_item: ItemCallback | None = None,
    on_progress: ProgressCallback | None = None,
    journal: Journal | None = None,
    resubmit_lost: bool = True,
    keep_images: bool | None = True,
) -> BatchResult:
    """Run a planned batch as asyncio tasks; see `run_plan` (callbacks run on the loop)."""
    control = concurrency if isinstance(concurrency, Concurrency) else Concurrency(concurrency)
    tally = _tally(client, plan, journal, progress, timeout, on_item, resubmit_lost, keep_images)
    running: dict[asyncio.Task[Generation], int] = {}
    gate = _Gate(client, tally, on_progress)
    try:
        while tally.waiting or running:
            now = time.monotonic()
            while (
                len(running) < control.limit
                and gate.room()
                and (job := tally.next_ready(now)) is not None
            ):
                control.started(job)
                todo = plan.jobs[job]
                if todo.task_id is not None:
                    work = client.fetch(todo.task_id, request=todo.request, timeout=timeout)
                else:
                    gate.unsent.add(job)
                    work = client.generate(
                        todo.request,
                        timeout=timeout,
                        on_progress=_reporter(control, job, on_progress, gate.unsent),
                        fresh=True,  # the plan already took what was made before
                    )
                task = asyncio.create_task(work)
                running[task] = job
            pause = gate.pause(tally.wake_in(now))
            if not running:
                await asyncio.sleep(pause or 0.0)
                continue
            done, _ = await asyncio.wait(
                running, timeout=pause, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                error = asyncio.CancelledError() if task.cancelled() else task.exception()
                outcome = task.result() if error is None else error
                job = running.pop(task)
                gate.unsent.discard(job)
                tally.record(job, outcome, control, time.monotonic())
    finally:
        for task in running:  # cancelled with us; accepted tasks stay in the gallery journal
            task.cancel()
        tally.bar.close()
    return tally.result()
