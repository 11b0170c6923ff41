"""The bookkeeping of one batch: which job runs next, what each item got, who hears of it;
and how a batch runs (`BatchOptions`).

The runner (`_batch_async`, and its generated twin) feeds it outcomes and asks it what to
start; its only I/O is telling the journal of paid tasks that failed.
A 429 on a submit puts the job back in line (within its timeout); a paid task that will
never arrive is made afresh, unless the batch only fetches (`resume`); every finished item
is reported to the progress bar and to ``on_item``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from klein_widget.client._exceptions import (
    APIStatusError,
    AuthenticationError,
    GenerationFailedError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._generation import Generation
from klein_widget.client._journal import Journal, progress_bar
from klein_widget.client._run import ProgressCallback
from klein_widget.client.batch._concurrency import DEFAULT_CONCURRENCY, Concurrency
from klein_widget.client.batch._plan import Plan
from klein_widget.client.batch._result import BatchItem, BatchResult, keeps_in_memory

__all__ = [
    "MAX_REQUEUES",
    "MAX_REQUEUE_DELAY",
    "REQUEUE_DELAY",
    "BatchOptions",
    "ItemCallback",
    "Tally",
]

MAX_REQUEUES = 5  # times an item refused with 429 (after the client's own retries) goes back
REQUEUE_DELAY = 1.0  # seconds before a refused item is tried again, if the server gave no hint
MAX_REQUEUE_DELAY = 60.0  # a Retry-After longer than this is not waited out in full

ItemCallback = Callable[[BatchItem], None]


@dataclass(frozen=True)
class BatchOptions:
    """How a planned batch runs (`generate_many` fills it in from its arguments).

    ``journal`` (default: the client's) hears of paid tasks that fail;
    ``resubmit_lost=False`` only fetches (what `resume` needs).
    """

    concurrency: int | Concurrency = DEFAULT_CONCURRENCY
    progress: bool | None = False
    timeout: float | None = None
    on_item: ItemCallback | None = None
    on_progress: ProgressCallback | None = None
    keep_images: bool | None = True
    journal: Journal | None = None
    resubmit_lost: bool = True

    def control(self) -> Concurrency:
        """The concurrency controller (a fresh one for a plain number)."""
        given = self.concurrency
        return given if isinstance(given, Concurrency) else Concurrency(given)


class Tally:
    """Per-job outcomes, requeue bookkeeping, the progress bar and the item callback."""

    def __init__(
        self, plan: Plan, options: BatchOptions, *, journal: Journal | None, timeout: float
    ) -> None:
        self.plan = plan
        self.journal = journal  # the client's, unless the options name one
        self.timeout = timeout  # each job's own: its requeues wait within it
        self.on_item = options.on_item
        self.resubmit_lost = options.resubmit_lost
        self.in_memory = keeps_in_memory(options.keep_images, len(plan.requests))
        self.items = [BatchItem(i, r) for i, r in enumerate(plan.requests)]
        self.waiting: deque[tuple[float, int]] = deque((0.0, j) for j in range(len(plan.jobs)))
        self.requeues = [0] * len(plan.jobs)
        self.started: list[float | None] = [None] * len(plan.jobs)
        self.done = 0
        self.failed = 0
        self.bar = progress_bar(len(self.items), enabled=options.progress, label="klein batch")
        for index, made in plan.found.items():
            self.items[index].skipped = True
            self._finish(index, made)
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
        """One job ended with ``outcome``: requeue it, or give its items their result."""
        paid = self.plan.jobs[job].task_id
        if paid is not None and not isinstance(outcome, Generation):
            if _lost(outcome):  # journaled failed once, here
                if self.journal is not None:
                    self.journal.task_failed(paid, str(outcome))
                if self.resubmit_lost:  # make it afresh
                    control.failed(job)
                    self.plan.jobs[job] = dataclasses.replace(self.plan.jobs[job], task_id=None)
                    self.waiting.append((now, job))
                    return
            elif self.journal is not None and _task_went_nowhere(outcome):
                self.journal.task_attempted(paid, str(outcome))
        if isinstance(outcome, RateLimitError) and self._requeue(job, outcome, now):
            control.rate_limited(job)
            return
        if isinstance(outcome, Generation):
            control.succeeded(job)
        else:
            control.failed(job)
        journal = self.journal
        if isinstance(outcome, GenerationFailedError) and paid is None and journal is not None:
            journal.task_failed(outcome.prediction.id, outcome.message)  # not for resume
        for index in self.plan.jobs[job].indices:
            self.items[index].resumed = paid is not None and isinstance(outcome, Generation)
            self._finish(index, outcome)
        self.bar.update(done=self.done, failed=self.failed, skipped=len(self.plan.found))

    def _finish(self, index: int, outcome: Generation | BaseException) -> None:
        item = self.items[index]
        if isinstance(outcome, Generation):
            item.keep(outcome, in_memory=self.in_memory)
        else:
            item.error = outcome
            self.failed += 1
        self.done += 1
        if self.on_item is not None:
            self.on_item(item)

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

    def result(self) -> BatchResult:
        """The items, in input order."""
        return BatchResult(self.items)


def _lost(error: BaseException) -> bool:
    """Will a paid task that ended with ``error`` never arrive (failed, or unknown)?"""
    return isinstance(error, GenerationFailedError) or (
        isinstance(error, APIStatusError) and error.status_code == 404
    )


def _task_went_nowhere(error: BaseException) -> bool:
    """A fetch that failed for the task's sake (not the key's): an attempt to count."""
    return isinstance(error, KleinError) and not isinstance(error, AuthenticationError)
