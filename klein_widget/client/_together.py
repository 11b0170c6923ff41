"""Several independent calls of one client call: all at once on the async client, one by
one on the blocking one (``scripts/unasync.py`` turns `all_at_once` into `one_by_one`).

Example:
    >>> one_by_one([lambda: 1, lambda: 2])
    [1, 2]
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

__all__ = ["all_at_once", "one_by_one"]

T = TypeVar("T")


async def all_at_once(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run every call concurrently; their results in order. The first to fail (or the
    caller's cancellation) cancels the rest, which are awaited before it is raised, so
    nothing outlives the call."""
    tasks = [asyncio.ensure_future(call()) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()  # a finished task ignores it
        await asyncio.gather(*tasks, return_exceptions=True)


def one_by_one(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run the calls in order; their results. The first to fail stops the rest."""
    return [call() for call in calls]
