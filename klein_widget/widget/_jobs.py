"""Generations in flight: tasks on the kernel's event loop, at most a few at once.

Nothing here blocks: each generation is an ``asyncio`` task created with
``asyncio.get_running_loop().create_task``, and a ticker task refreshes the elapsed time
while any is running. Cancelling stops waiting; the server still finishes (and bills)
tasks it accepted.

Example:
    >>> jobs = Jobs(limit=4, on_change=redraw, on_done=show, on_failed=report)  # doctest: +SKIP
    >>> task = jobs.start(request, client)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest
from klein_widget.client._run import Progress
from klein_widget.widget._status import PanelJob

TICK = 0.25  # seconds between live updates of the elapsed time
NO_LOOP = (
    "The panel needs a running event loop, which Jupyter provides; in a script use "
    "klein_widget.KleinClient instead."
)
_log = logging.getLogger("klein_widget.panel")
T = TypeVar("T")


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running this code, or None outside one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def spawn(work: Coroutine[Any, Any, T]) -> asyncio.Task[T] | None:
    """Run ``work`` as a task on the running loop; None (and ``work`` closed) if there is none."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        work.close()
        return None
    return loop.create_task(work)


class Jobs:
    """The panel's generations in flight, numbered from 1."""

    def __init__(
        self,
        *,
        limit: int,
        on_change: Callable[[], None],
        on_done: Callable[[PanelJob, Generation, AsyncKleinClient], None],
        on_failed: Callable[[PanelJob, Exception], None],
    ) -> None:
        self.limit = limit
        self._on_change = on_change
        self._on_done = on_done
        self._on_failed = on_failed
        self._jobs: dict[int, PanelJob] = {}
        self._count = 0
        self._ticker: asyncio.Task[None] | None = None

    @property
    def active(self) -> list[PanelJob]:
        """The jobs in flight, oldest first."""
        return list(self._jobs.values())

    @property
    def full(self) -> bool:
        """True when no more may start."""
        return len(self._jobs) >= self.limit

    def start(
        self, request: GenerationRequest, client: AsyncKleinClient
    ) -> asyncio.Task[Generation | None] | None:
        """Start generating ``request`` (its seed is drawn here if -1, so it is known at
        once); None if there is no running loop."""
        job = PanelJob(self._count + 1, request.with_concrete_seed())
        job.task = spawn(self._run(job, client))
        if job.task is None:
            return None
        self._count += 1
        # Also on cancel-before-start, when the coroutine's own handlers never run.
        job.task.add_done_callback(lambda _t: self._over(job))
        self._jobs[job.number] = job
        if self._ticker is None or self._ticker.done():
            self._ticker = spawn(self._tick())
        self._on_change()
        return job.task

    def cancel(self) -> list[PanelJob]:
        """Stop waiting for every job; returns the jobs cancelled."""
        jobs = self.active
        for job in jobs:
            if job.task is not None:
                job.task.cancel()
        if self._ticker is not None:
            self._ticker.cancel()
        return jobs

    async def _run(self, job: PanelJob, client: AsyncKleinClient) -> Generation | None:
        def on_progress(progress: Progress) -> None:
            stage_changed = job.progress is None or job.progress.stage != progress.stage
            job.progress = progress
            if stage_changed:  # the ticker refreshes the elapsed time in between
                self._on_change()

        try:
            generation = await client.generate(job.request, on_progress=on_progress)
        except Exception as error:
            _log.debug("generation #%d failed", job.number, exc_info=True)
            self._on_failed(job, error)
            self._over(job)
            return None
        self._on_done(job, generation, client)
        self._over(job)
        return generation

    async def _tick(self) -> None:
        while self._jobs:
            await asyncio.sleep(TICK)
            self._on_change()

    def _over(self, job: PanelJob) -> None:
        if self._jobs.pop(job.number, None) is not None:  # else already over
            self._on_change()
