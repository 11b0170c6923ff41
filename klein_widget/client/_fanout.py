"""`generate_many`: many images at once, safe to rerun, polite to the rate limit.

`_batch_plan` decides what to do (validation, seeds, duplicates, the gallery, cost) and
`_concurrency` how many at once; here are the two mirrored runners that do the I/O, one
on threads (works inside a running notebook cell: no event loop of its own) and one on
asyncio tasks. The client tells them of every 429 it waits out (a ``rate_limited``
progress stage), and the concurrency controller backs off.

Example:
    >>> result = client.generate_many(["a red fox", "a blue heron"], seed=7)  # doctest: +SKIP
    >>> [item.generation.path for item in result]  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from klein_widget.client import _config
from klein_widget.client._concurrency import DEFAULT_CONCURRENCY, Concurrency
from klein_widget.client._exceptions import (
    APIStatusError,
    GenerationFailedError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._generation import Generation
from klein_widget.client._journal import Journal, progress_bar
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest
from klein_widget.client._plan import (
    DEFAULT_CONFIRM_OVER,
    BatchItem,
    BatchResult,
    Plan,
    build_requests,
    check_cost,
    plan_batch,
)

if TYPE_CHECKING:
    from klein_widget.client._async_client import AsyncKleinClient
    from klein_widget.client._base import BaseClient
    from klein_widget.client._run import Progress
    from klein_widget.client._sync_client import KleinClient

# The pure names are re-exported: `_compare` plans its grids with them.
__all__ = ["BatchItem", "BatchResult", "agenerate_many", "generate_many"]

MAX_REQUEUES = 5  # times an item refused with 429 (after the client's own retries) goes back
REQUEUE_DELAY = 1.0  # seconds before a refused item is tried again, if the server gave no hint
MAX_REQUEUE_DELAY = 60.0  # a Retry-After longer than this is not waited out in full


# --- shared by both runners ------------------------------------------------------------------


class _Tally:
    """Per-job outcomes, requeue bookkeeping and the progress bar."""

    def __init__(
        self, plan: Plan, journal: Journal | None, progress: bool | None, timeout: float
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.timeout = timeout  # each job's own: its requeues wait within it
        self.items = [BatchItem(i, r) for i, r in enumerate(plan.requests)]
        for index, made in plan.found.items():
            self.items[index].generation = made
            self.items[index].skipped = True
        self.waiting: deque[tuple[float, int]] = deque((0.0, j) for j in range(len(plan.jobs)))
        self.requeues = [0] * len(plan.jobs)
        self.started: list[float | None] = [None] * len(plan.jobs)
        self.done = len(plan.found)
        self.failed = 0
        self.bar = progress_bar(len(self.items), enabled=progress, label="klein batch")
        self.bar.update(done=self.done, failed=0, skipped=len(plan.found))

    def next_ready(self, now: float) -> int | None:
        """The next job whose requeue delay is over, or None."""
        for position, (not_before, job) in enumerate(self.waiting):
            if not_before <= now:
                del self.waiting[position]
                if self.started[job] is None:
                    self.started[job] = now
                return job
        return None

    def wake_in(self, now: float) -> float | None:
        """Seconds until a requeued job's delay is over, or None if no job is delayed.

        Jobs that are ready but held back by the concurrency limit need no timer (a
        completion wakes the runner): a 0 here would make the runner spin.
        """
        delayed = [t for t, _ in self.waiting if t > now]
        return max(0.0, min(delayed) - now) if delayed else None

    def record(
        self, job: int, outcome: Generation | BaseException, control: Concurrency, now: float
    ) -> None:
        paid = self.plan.jobs[job].task_id
        if paid is not None and not isinstance(outcome, Generation):
            if self._lost(paid, outcome):  # it will never arrive: make it afresh
                control.failed(job)
                self.plan.jobs[job] = dataclasses.replace(self.plan.jobs[job], task_id=None)
                self.waiting.append((now, job))
                return
            if self.journal is not None and isinstance(outcome, KleinError):
                self.journal.task_attempted(paid, outcome.message)
        if isinstance(outcome, RateLimitError) and self._requeue(job, outcome, now):
            control.rate_limited(job)
            return
        if isinstance(outcome, Generation):
            control.succeeded(job)
        else:
            control.failed(job)
        if isinstance(outcome, GenerationFailedError) and self.journal is not None:
            self.journal.task_failed(outcome.prediction.id, outcome.message)  # not for resume
        for index in self.plan.jobs[job].indices:
            if isinstance(outcome, Generation):
                self.items[index].generation = outcome
                self.items[index].resumed = paid is not None
            else:
                self.items[index].error = outcome
                self.failed += 1
            self.done += 1
        self.bar.update(done=self.done, failed=self.failed, skipped=len(self.plan.found))

    def _requeue(self, job: int, refused: RateLimitError, now: float) -> bool:
        """Put a job refused by a 429 on its submit back in line, if its time allows.

        A 429 on a poll comes after acceptance: that task is paid and never resubmitted.
        """
        if refused.maybe_accepted or self.requeues[job] >= MAX_REQUEUES:
            return False
        hint = refused.retry_after if refused.retry_after is not None else REQUEUE_DELAY
        delay = min(hint, MAX_REQUEUE_DELAY)
        started = self.started[job]
        if now + delay > (now if started is None else started) + self.timeout:
            return False  # it would wait past its timeout: report the 429 instead
        self.requeues[job] += 1
        self.waiting.append((now + delay, job))
        return True

    def _lost(self, task_id: str, error: BaseException) -> bool:
        lost = isinstance(error, GenerationFailedError) or (
            isinstance(error, APIStatusError) and error.status_code == 404
        )
        if lost and self.journal is not None:
            self.journal.task_failed(task_id, str(error))
        return lost

    def result(self) -> BatchResult:
        return BatchResult(self.items)


def _prepare(
    client: BaseClient,
    items: Iterable[str | GenerationRequest],
    *,
    width: int,
    height: int,
    seed: int,
    skip_existing: bool,
    confirm: bool | None,
    confirm_over: float | None,
) -> Plan:
    requests = build_requests(items, width=width, height=height, seed=seed, rng=client._rng)
    journal = client.journal
    if journal is not None and skip_existing:
        origin = _config.url_origin(client.base_url)
        plan = plan_batch(requests, journal.stored, lambda r: journal.unfinished_task(r, origin))
    else:
        plan = plan_batch(requests)
    check_cost(plan, confirm=confirm, confirm_over=confirm_over)
    return plan


def _on_progress(control: Concurrency, job: int) -> Callable[[Progress], None]:
    return lambda progress: control.stage(job, progress.stage)


# --- the runners (keep them mirrored) ---------------------------------------------------------


def generate_many(
    client: KleinClient,
    items: Iterable[str | GenerationRequest],
    *,
    width: int = DEFAULT_SIDE,
    height: int = DEFAULT_SIDE,
    seed: int = RANDOM_SEED,
    concurrency: int | Concurrency = DEFAULT_CONCURRENCY,
    skip_existing: bool = True,
    progress: bool | None = None,
    confirm: bool | None = None,
    confirm_over: float | None = DEFAULT_CONFIRM_OVER,
    timeout: float | None = None,
) -> BatchResult:
    """Generate many images concurrently; results and errors come back in input order.

    Items are prompts (with ``width``, ``height``, ``seed``) or `GenerationRequest`
    objects. Seeds of ``-1`` are drawn here before anything is sent. Items the gallery
    already has (same prompt, size and seed) are loaded from disk, not generated again,
    and those an earlier run paid for but never downloaded are fetched, not resubmitted:
    a rerun after an interruption (or a dead kernel) only pays for what is missing.

    Over ``confirm_over`` dollars it asks first (``confirm=True`` to skip asking).
    ``concurrency`` bounds the tasks in flight (or pass a `Concurrency` to watch it).
    ``progress``: None shows a bar where one fits, False none. Works inside a running
    notebook cell.

    Example:
        >>> result = client.generate_many(["a fox", "a heron"], seed=42)  # doctest: +SKIP
        >>> result.generations[0].path  # doctest: +SKIP
    """
    control = concurrency if isinstance(concurrency, Concurrency) else Concurrency(concurrency)
    plan = _prepare(
        client,
        items,
        width=width,
        height=height,
        seed=seed,
        skip_existing=skip_existing,
        confirm=confirm,
        confirm_over=confirm_over,
    )
    tally = _Tally(plan, client.journal, progress, client.timeout if timeout is None else timeout)
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
                        on_progress=_on_progress(control, job),
                    )
                running[future] = job
            pause = tally.wake_in(now)
            if not running:
                time.sleep(pause or 0.0)
                continue
            done, _ = wait(running, timeout=pause, return_when=FIRST_COMPLETED)
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


async def agenerate_many(
    client: AsyncKleinClient,
    items: Iterable[str | GenerationRequest],
    *,
    width: int = DEFAULT_SIDE,
    height: int = DEFAULT_SIDE,
    seed: int = RANDOM_SEED,
    concurrency: int | Concurrency = DEFAULT_CONCURRENCY,
    skip_existing: bool = True,
    progress: bool | None = None,
    confirm: bool | None = None,
    confirm_over: float | None = DEFAULT_CONFIRM_OVER,
    timeout: float | None = None,
) -> BatchResult:
    """Generate many images as concurrent tasks; see `KleinClient.generate_many`.

    Example:
        >>> result = await client.generate_many(["a fox", "a heron"], seed=42)  # doctest: +SKIP
    """
    control = concurrency if isinstance(concurrency, Concurrency) else Concurrency(concurrency)
    plan = _prepare(
        client,
        items,
        width=width,
        height=height,
        seed=seed,
        skip_existing=skip_existing,
        confirm=confirm,
        confirm_over=confirm_over,
    )
    tally = _Tally(plan, client.journal, progress, client.timeout if timeout is None else timeout)
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
                        todo.request, timeout=timeout, on_progress=_on_progress(control, job)
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
