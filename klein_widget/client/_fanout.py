"""`generate_many`: the one way to make many images (`compare` and ``%klein -n`` use it;
`resume` runs the same loops on a fetch-only plan).

`_plan` decides what to do (validation, seeds, duplicates, what the gallery has, cost),
`_tally` keeps the books, `_concurrency` says how many at once, and `_runner` has the two
mirrored loops that do the I/O. ``on_item`` (each finished item) and ``on_progress`` (each
step of each image) are called in the caller's thread, so a door may update its display.

Example:
    >>> result = client.generate_many(["a red fox", "a blue heron"], seed=7)  # doctest: +SKIP
    >>> [item.generation.path for item in result]  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING

from klein_widget.client import _config, _runner
from klein_widget.client._concurrency import DEFAULT_CONCURRENCY, Concurrency
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
from klein_widget.client._tally import ItemCallback

if TYPE_CHECKING:
    from klein_widget.client._async_client import AsyncKleinClient
    from klein_widget.client._base import BaseClient
    from klein_widget.client._run import ProgressCallback
    from klein_widget.client._sync_client import KleinClient

__all__ = ["BatchItem", "BatchResult", "agenerate_many", "generate_many"]


def _prepare(
    client: BaseClient,
    items: Iterable[str | GenerationRequest],
    *,
    width: int,
    height: int,
    seed: int,
    fresh: bool,
    confirm: bool | None,
    confirm_over: float | None,
    may_ask: bool = True,
) -> Plan:
    requests = build_requests(items, width=width, height=height, seed=seed, rng=client._rng)
    journal = client.journal
    if journal is not None and not fresh:
        origin = _config.url_origin(client.base_url)
        plan = plan_batch(
            requests,
            lambda r: client._already_made(r, fresh),
            lambda r: journal.unfinished_task(r, origin),
        )
    else:
        plan = plan_batch(requests)
    check_cost(plan, confirm=confirm, confirm_over=confirm_over, may_ask=may_ask)
    return plan


# --- the public entry points ------------------------------------------------------------------


def generate_many(
    client: KleinClient,
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

    Over ``confirm_over`` dollars it asks first (``confirm=True`` to skip asking).
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
        >>> result = client.generate_many(["a fox", "a heron"], seed=42)  # doctest: +SKIP
        >>> result.generations[0].path  # doctest: +SKIP
    """
    plan = _prepare(
        client,
        items,
        width=width,
        height=height,
        seed=seed,
        fresh=fresh,
        confirm=confirm,
        confirm_over=confirm_over,
    )
    return _runner.run_plan(
        client,
        plan,
        concurrency=concurrency,
        progress=progress,
        timeout=timeout,
        on_item=on_item,
        on_progress=on_progress,
        keep_images=keep_images,
    )


async def agenerate_many(
    client: AsyncKleinClient,
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
    """Generate many images as concurrent tasks; see `KleinClient.generate_many`.

    It never stops to ask: over ``confirm_over`` it raises `BudgetExceededError` (with the
    cost) unless ``confirm=True``. The gallery's look-ups run in a worker thread.

    Example:
        >>> result = await client.generate_many(["a fox", "a heron"], seed=42)  # doctest: +SKIP
    """
    plan = await asyncio.to_thread(
        functools.partial(
            _prepare,
            client,
            items,
            width=width,
            height=height,
            seed=seed,
            fresh=fresh,
            confirm=confirm,
            confirm_over=confirm_over,
            may_ask=False,
        )
    )
    return await _runner.arun_plan(
        client,
        plan,
        concurrency=concurrency,
        progress=progress,
        timeout=timeout,
        on_item=on_item,
        on_progress=on_progress,
        keep_images=keep_images,
    )
