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
from klein_widget.client._tally import ItemCallback, Tally

if TYPE_CHECKING:
    from klein_widget.client._async_client import AsyncKleinClient
    from klein_widget.client._base import BaseClient
    from klein_widget.client._run import Progress, ProgressCallback
    from klein_widget.client._sync_client import KleinClient

__all__ = ["arun_plan", "run_plan"]

_TICK = 0.1  # seconds between deliveries of progress to the caller's thread


def _reporter(control: Concurrency, job: int, deliver: ProgressCallback | None) -> ProgressCallback:
    def report(progress: Progress) -> None:
        control.stage(job, progress.stage)
        if deliver is not None:
            deliver(progress)

    return report


def _tally(
    client: BaseClient,
    plan: Plan,
    journal: Journal | None,
    progress: bool | None,
    timeout: float | None,
    on_item: ItemCallback | None,
    resubmit_lost: bool,
) -> Tally:
    return Tally(
        plan,
        client.journal if journal is None else journal,
        progress=progress,
        timeout=client.timeout if timeout is None else timeout,
        on_item=on_item,
        resubmit_lost=resubmit_lost,
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
) -> BatchResult:
    """Run a planned batch on threads. ``journal`` (default: the client's) hears of paid
    tasks that fail; ``resubmit_lost=False`` only fetches (what `resume` needs)."""
    control = concurrency if isinstance(concurrency, Concurrency) else Concurrency(concurrency)
    tally = _tally(client, plan, journal, progress, timeout, on_item, resubmit_lost)
    steps: queue.SimpleQueue[Progress] = queue.SimpleQueue()  # workers -> the caller's thread
    deliver = steps.put if on_progress is not None else None
    running: dict[Future[Generation], int] = {}
    pool = ThreadPoolExecutor(max_workers=control.maximum, thread_name_prefix="klein-batch")
    try:
        while tally.waiting or running:
            now = time.monotonic()
            while len(running) < control.limit and (job := tally.next_ready(now)) is not None:
                control.started(job)
                todo = plan.jobs[job]
                if todo.task_id is not None:
                    future = pool.submit(
                        client.fetch, todo.task_id, request=todo.request, timeout=timeout
                    )
                else:
                    future = pool.submit(
                        client.generate,
                        todo.request,
                        timeout=timeout,
                        on_progress=_reporter(control, job, deliver),
                        fresh=True,  # the plan already took what was made before
                    )
                running[future] = job
            pause = tally.wake_in(now)
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
                tally.record(running.pop(future), outcome, control, time.monotonic())
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
) -> BatchResult:
    """Run a planned batch as asyncio tasks; see `run_plan` (callbacks run on the loop)."""
    control = concurrency if isinstance(concurrency, Concurrency) else Concurrency(concurrency)
    tally = _tally(client, plan, journal, progress, timeout, on_item, resubmit_lost)
    running: dict[asyncio.Task[Generation], int] = {}
    try:
        while tally.waiting or running:
            now = time.monotonic()
            while len(running) < control.limit and (job := tally.next_ready(now)) is not None:
                control.started(job)
                todo = plan.jobs[job]
                if todo.task_id is not None:
                    work = client.fetch(todo.task_id, request=todo.request, timeout=timeout)
                else:
                    work = client.generate(
                        todo.request,
                        timeout=timeout,
                        on_progress=_reporter(control, job, on_progress),
                        fresh=True,  # the plan already took what was made before
                    )
                task = asyncio.create_task(work)
                running[task] = job
            pause = tally.wake_in(now)
            if not running:
                await asyncio.sleep(pause or 0.0)
                continue
            done, _ = await asyncio.wait(
                running, timeout=pause, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                error = asyncio.CancelledError() if task.cancelled() else task.exception()
                outcome = task.result() if error is None else error
                tally.record(running.pop(task), outcome, control, time.monotonic())
    finally:
        for task in running:  # cancelled with us; accepted tasks stay in the gallery journal
            task.cancel()
        tally.bar.close()
    return tally.result()
