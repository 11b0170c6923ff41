"""Generations in flight: tasks on the kernel's event loop, at most a few at once.

Nothing here blocks: each generation is an ``asyncio`` task created with
``asyncio.get_running_loop().create_task``, and a ticker task refreshes the elapsed time
while any is running. Cancelling a job means "stop waiting": a job the server may
already have accepted is detached (its task runs on, and its image still lands in the
gallery and the history, so spend and history agree); one not yet sent is cancelled.

Example:
    >>> jobs = Jobs(on_change=redraw, on_done=show, on_failed=report)  # doctest: +SKIP
    >>> task = jobs.start(request, client)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest
from klein_widget.client._run import Progress
from klein_widget.widget._order import PanelOrder
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


def call_home(
    loop: asyncio.AbstractEventLoop | None, work: Callable[..., object], *args: Any
) -> None:
    """Call ``work(*args)`` on ``loop``, the kernel's loop a panel was made on: at once if
    this code runs there (or there is none, or it closed), else soon, from its thread.
    ipykernel 7 may run a widget's messages, and %klein its images, on another thread."""
    if loop is None or loop.is_closed() or running_loop() is loop:
        work(*args)
    else:
        loop.call_soon_threadsafe(work, *args)


def spawn(work: Coroutine[Any, Any, T]) -> asyncio.Task[T] | None:
    """Run ``work`` as a task on the running loop; None (and ``work`` closed) if there is none."""
    loop = running_loop()
    if loop is None:
        work.close()
        return None
    return loop.create_task(work)


class Jobs:
    """The panel's generations in flight, numbered from 1, at most `MAX_IN_FLIGHT`."""

    def __init__(
        self,
        *,
        on_change: Callable[[], None],
        on_done: Callable[[PanelJob, Generation, AsyncKleinClient], None],
        on_failed: Callable[[PanelJob, Exception], None],
        expected: Callable[[GenerationRequest], float | None] = lambda _r: None,
    ) -> None:
        self._on_change = on_change
        self._on_done = on_done
        self._on_failed = on_failed
        self._expected = expected
        self._jobs: dict[int, PanelJob] = {}
        self._count = 0
        self._ticker: asyncio.Task[None] | None = None

    @property
    def active(self) -> list[PanelJob]:
        """The jobs in flight that the user waits for, oldest first."""
        return [job for job in self._jobs.values() if not job.detached]

    @property
    def full(self) -> bool:
        """True when no more may start."""
        return len(self.active) >= MAX_IN_FLIGHT

    def start(
        self,
        request: GenerationRequest,
        client: AsyncKleinClient,
        *,
        fresh: bool = False,
        order: PanelOrder | None = None,
    ) -> asyncio.Task[Generation | None] | None:
        """Start generating ``request`` (its seed is drawn here if -1, so it is known at
        once) with ``order``'s model (and references: an edit); None if there is no
        running loop. ``fresh`` skips the gallery."""
        concrete = request.with_concrete_seed()
        job = PanelJob(self._count + 1, concrete, request, self._expected(concrete))
        job.order = order or PanelOrder()
        job.task = spawn(self._run(job, client, fresh))
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

    def get(self, number: int) -> PanelJob | None:
        """The job in flight with this number, if any."""
        job = self._jobs.get(number)
        return job if job is not None and not job.detached else None

    def cancel(self, job: PanelJob) -> None:
        """Stop waiting for ``job``: detach it if the server may have accepted it (it
        finishes in the background), else cancel its task."""
        if job.accepted:
            job.detached = True
        elif job.task is not None:
            job.task.cancel()
            self._jobs.pop(job.number, None)  # gone now, not when the loop next runs it
        self._on_change()

    def stop_all(self) -> None:
        """Cancel every task, detached or not (the panel is closing)."""
        for job in self._jobs.values():
            if job.task is not None:
                job.task.cancel()
        if self._ticker is not None:
            self._ticker.cancel()

    async def _run(self, job: PanelJob, client: AsyncKleinClient, fresh: bool) -> Generation | None:
        def on_progress(progress: Progress) -> None:
            stage_changed = job.progress is None or job.progress.stage != progress.stage
            job.progress = progress
            if stage_changed:  # the ticker refreshes the elapsed time in between
                self._on_change()

        try:
            generation = await job.order.run(client, job.request, on_progress, fresh)
        except Exception as error:
            _log.debug("generation #%d failed", job.number, exc_info=True)
            self._on_failed(job, error)
            self._over(job)
            return None
        self._on_done(job, generation, client)
        self._over(job)
        return generation

    async def _tick(self) -> None:
        while self.active:
            await asyncio.sleep(TICK)
            self._on_change()

    def _over(self, job: PanelJob) -> None:
        if self._jobs.pop(job.number, None) is not None:  # else already over
            self._on_change()
