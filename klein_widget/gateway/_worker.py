"""`DBThread`: the one thread the gateway's database work runs on, so no SQLite call
(a ``BEGIN IMMEDIATE`` may wait up to its 10 s busy timeout, a slow disk makes every call
slow) ever stalls the event loop that serves the whole class.

One thread, not a pool: calls run in the order they were made, so a task's "submitted"
is always written before its "completed", and SQLite sees one writer.

Example:
    >>> run = DBThread()
    >>> import asyncio
    >>> asyncio.run(run(sum, [1, 2]))
    3
    >>> run.close()
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["DBThread"]

P = ParamSpec("P")
T = TypeVar("T")


class DBThread:
    """Runs functions on one worker thread: ``await run(fn, *args)`` from async code,
    ``run.post(fn, *args)`` from a callback that cannot await (same order either way)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="klein-gateway-db")

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def post(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue a call without waiting for it (it still runs before any later call)."""
        return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._pool.shutdown(wait=True)
