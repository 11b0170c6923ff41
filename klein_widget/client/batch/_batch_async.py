"""`generate_many`: the one way to make many images (`compare` and ``%klein -n`` use it;
`resume` runs the same loop on a fetch-only plan with `arun_plan`).

The source of the blocking twin too: ``python scripts/unasync.py`` writes `_batch_sync`
from it, and a test fails if the two differ. The client plans (`BaseClient.plan_batch`:
validation, seeds, duplicates, what the gallery has), `_plan` prices and asks, `_tally`
keeps the books, `_concurrency` says how many at once, and `_runner` says how a job runs.
``on_item`` (each finished item) and ``on_progress`` (each step of each image) are called
in the caller's thread, so a door may update its display.

Example:
    >>> result = await client.generate_many(["a fox", "a heron"], seed=7)  # doctest: +SKIP
    >>> [item.generation.path for item in result]  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Protocol

from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._family_rules import ImageInputs, edit_requests
from klein_widget.client._generation import Generation
from klein_widget.client._journal import Journal
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest
from klein_widget.client._references import Reference
from klein_widget.client._run import ProgressCallback
from klein_widget.client.batch._concurrency import DEFAULT_CONCURRENCY, Concurrency
from klein_widget.client.batch._pacing import Pacer
from klein_widget.client.batch._plan import DEFAULT_CONFIRM_OVER, Plan, check_cost
from klein_widget.client.batch._result import BatchResult
from klein_widget.client.batch._runner import (
    DEFAULT_OPTIONS,
    AsyncJobs,
    PacingGate,
    reporter,
)
from klein_widget.client.batch._tally import BatchOptions, ItemCallback, Tally

__all__ = ["AsyncBatchClient", "aedit_many", "agenerate_many", "arun_plan"]


class AsyncBatchClient(Protocol):
    """What this runner needs of a client (`AsyncKleinClient` is one)."""

    timeout: float
    journal: Journal | None
    pacer: Pacer

    def plan_batch(
        self,
        items: Iterable[str | GenerationRequest],
        *,
        width: int,
        height: int,
        seed: int,
        fresh: bool,
    ) -> Plan: ...

    async def generate(
        self,
        prompt: str | GenerationRequest,
        *,
        timeout: float | None = ...,
        on_progress: ProgressCallback | None = ...,
        fresh: bool = ...,
    ) -> Generation: ...

    async def fetch(
        self, task_id: str, *, request: GenerationRequest | None = ..., timeout: float | None = ...
    ) -> Generation: ...

    async def _upload_plan(
        self, plan: Plan, references: Mapping[str, Reference], timeout: float | None
    ) -> None: ...


def _planned(
    client: AsyncBatchClient,
    items: Iterable[str | GenerationRequest] | list[GenerationRequest],
    width: int,
    height: int,
    seed: int,
    fresh: bool,
    confirm: bool | None,
    confirm_over: float | None,
) -> Plan:
    plan = client.plan_batch(items, width=width, height=height, seed=seed, fresh=fresh)
    check_cost(plan, confirm=confirm, confirm_over=confirm_over, may_ask=AsyncJobs.may_ask)
    return plan


async def agenerate_many(
    client: AsyncBatchClient,
    items: Iterable[str | GenerationRequest],
    *,
    width: int = DEFAULT_SIDE,
    height: int = DEFAULT_SIDE,
    seed: int = RANDOM_SEED,
    concurrency: int | Concurrency = DEFAULT_CONCURRENCY,
    fresh: bool = False,
    progress: bool | None = None,
    confirm: bool | None = None,
    confirm_over: float | None = DEFAULT_CONFIRM_OVER,
    timeout: float | None = None,
    on_item: ItemCallback | None = None,
    on_progress: ProgressCallback | None = None,
    keep_images: bool | None = None,
) -> BatchResult:
    """Generate many images concurrently; results and errors come back in input order.

    Items are prompts (with ``width``, ``height``, ``seed``) or `GenerationRequest`
    objects. Seeds of ``-1`` are drawn here before anything is sent. Items with a seed of
    their own that the gallery already has (same prompt, size and seed) are loaded from
    disk, free, and those an earlier run paid for but never downloaded are fetched, not
    resubmitted: a rerun (or one after a dead kernel) only pays for what is missing.
    ``fresh=True`` asks WaveSpeed again for every item.

    Over ``confirm_over`` dollars it raises `BudgetExceededError` (with the cost) unless
    ``confirm=True``: awaited, it never stops to ask.
    ``concurrency`` bounds the tasks in flight (or pass a `Concurrency` to watch it).
    ``progress``: None shows a bar where one fits, False none. ``timeout`` holds for each
    image, re-queues after a 429 included. ``on_item`` hears of each finished item and
    ``on_progress`` of each image's steps, in the calling thread. Works inside a running
    notebook cell. Submits are paced to the account's rate limit (the client's
    ``rate_limit=``, or what a 429 shows), with a countdown through ``on_progress``.
    ``keep_images``: hold every image in memory (True), or only the gallery's path,
    reading the image back on access (False); None: in memory up to
    `KEEP_IMAGES_UP_TO` images, so a batch of 10,000 keeps memory flat.

    Example:
        >>> result = await client.generate_many(["a fox", "a heron"], seed=42)  # doctest: +SKIP
        >>> result.generations[0].path  # doctest: +SKIP
    """
    # The gallery's look-ups are disk work: in a worker thread when awaited.
    plan = await asyncio.to_thread(
        _planned, client, items, width, height, seed, fresh, confirm, confirm_over
    )
    options = BatchOptions(
        concurrency=concurrency,
        progress=progress,
        timeout=timeout,
        on_item=on_item,
        on_progress=on_progress,
        keep_images=keep_images,
    )
    return await arun_plan(client, plan, options)


async def arun_plan(
    client: AsyncBatchClient, plan: Plan, options: BatchOptions = DEFAULT_OPTIONS
) -> BatchResult:
    """Run a planned batch: submit or fetch each job, as many at once as the controller
    and the rate limit allow, and give every item its image or its error."""
    control = options.control()
    journal = client.journal if options.journal is None else options.journal
    timeout = client.timeout if options.timeout is None else options.timeout
    tally = Tally(plan, options, journal=journal, timeout=timeout)
    gate = PacingGate(client.pacer, tally, options.on_progress)
    jobs = AsyncJobs(control.maximum, options.on_progress)
    try:
        while tally.waiting or jobs.running:
            now = time.monotonic()
            while (
                len(jobs.running) < control.limit
                and gate.room()
                and (job := tally.next_ready(now)) is not None
            ):
                control.started(job)
                todo = plan.jobs[job]
                if todo.task_id is not None:
                    jobs.start(
                        job,
                        client.fetch,
                        todo.task_id,
                        request=todo.request,
                        timeout=options.timeout,
                    )
                else:
                    gate.unsent.add(job)
                    jobs.start(
                        job,
                        client.generate,
                        todo.request,
                        timeout=options.timeout,
                        on_progress=reporter(control, job, jobs.deliver, gate.unsent),
                        fresh=True,  # the plan already took what was made before
                    )
            for job, outcome in await jobs.wait(gate.pause(tally.wake_in(now))):
                gate.unsent.discard(job)
                tally.record(job, outcome, control, time.monotonic())
    finally:
        jobs.close()
        tally.bar.close()
    return tally.result()


async def aedit_many(
    client: AsyncBatchClient,
    items: Iterable[object],
    images: ImageInputs | None = None,
    *,
    model: str | KleinModel = DEFAULT_MODEL.name,
    width: int | None = None,
    height: int | None = None,
    seed: int = RANDOM_SEED,
    concurrency: int | Concurrency = DEFAULT_CONCURRENCY,
    fresh: bool = False,
    progress: bool | None = None,
    confirm: bool | None = None,
    confirm_over: float | None = DEFAULT_CONFIRM_OVER,
    timeout: float | None = None,
    on_item: ItemCallback | None = None,
    on_progress: ProgressCallback | None = None,
    keep_images: bool | None = None,
) -> BatchResult:
    """Many edits at once, as `generate_many` runs many images: items are prompts (each
    an edit of ``images``), ``(prompt, images)`` pairs or edit `GenerationRequest` objects.

    Every item's images are read and checked before anything is sent; the gallery answers
    fixed-seed edits it already holds, free; the rest's local images are uploaded (each
    distinct one once), then each edit is submitted once. ``model``, ``width``, ``height``
    and ``seed`` as for `edit`; the other options as for `generate_many`.

    Example:
        >>> result = await client.edit_many(["make it night", "make it snowy"],
        ...                                 images=[gen], seed=7)  # doctest: +SKIP
    """
    requests, references = edit_requests(
        items, images, model=model, width=width, height=height, seed=seed
    )
    # The gallery's look-ups are disk work: in a worker thread when awaited.
    plan = await asyncio.to_thread(
        _planned, client, requests, DEFAULT_SIDE, DEFAULT_SIDE, seed, fresh, confirm, confirm_over
    )
    await client._upload_plan(plan, references, timeout)
    options = BatchOptions(
        concurrency=concurrency,
        progress=progress,
        timeout=timeout,
        on_item=on_item,
        on_progress=on_progress,
        keep_images=keep_images,
    )
    return await arun_plan(client, plan, options)
