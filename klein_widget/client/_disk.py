"""The async client's disk work (the journal) off the event loop, in a thread of its own.

Not the loop's default executor: other work queues there (a panel preparing its history's
thumbnails), and a journal write waiting behind it would hold up the submit that follows.
One thread keeps the journal's calls in order. The blocking client calls them directly
(`scripts/unasync.py` removes this layer).

Example:
    >>> disk = DiskThread()  # doctest: +SKIP
    >>> await disk.run(journal.task_completed, generation)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["DiskThread"]

T = TypeVar("T")


class DiskThread:
    """A worker thread, started on first use, for one client's journal calls."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` in the thread; the loop runs on meanwhile."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="klein-journal")
        return await asyncio.get_running_loop().run_in_executor(self._pool, call, *args)

    def close(self) -> None:
        """Let the thread end once its calls are done."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
