"""`resume()`: fetch images that were paid for but never downloaded (a kernel died, a cell
was interrupted), without submitting anything again.

The gallery records each task when the server accepts it; `resume` fetches the ones
whose image never arrived. A task the server says failed is marked ``failed``; one that
cannot be fetched ``MAX_ATTEMPTS`` times is marked ``abandoned``: neither is tried again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from klein_widget.client._config import url_origin
from klein_widget.client._exceptions import (
    APIStatusError,
    AuthenticationError,
    GenerationFailedError,
)
from klein_widget.client._generation import Generation
from klein_widget.client.batch._batch_sync import run_plan
from klein_widget.client.batch._plan import Job, Plan
from klein_widget.client.batch._runner import BatchOptions
from klein_widget.store._gallery import Gallery

if TYPE_CHECKING:
    from klein_widget.client._sync_client import KleinClient

__all__ = ["ResumeReport", "gallery_of", "resume_tasks"]

RESUME_WORKERS = 4


@dataclass
class ResumeReport:
    """What `resume` did: images fetched, tasks given up on, tasks left for another server.

    Example:
        >>> report = klein_widget.resume()  # doctest: +SKIP
        >>> report.generations[0].path  # doctest: +SKIP
    """

    generations: list[Generation] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # task id -> reason
    retry_later: dict[str, str] = field(default_factory=dict)  # task id -> reason
    other_servers: int = 0  # pending tasks submitted to a different base URL
    stand_ins: int = 0  # a simulating server's tasks, origin unrecorded: never asked of a real one

    def __repr__(self) -> str:
        parts = [f"{len(self.generations)} fetched"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.retry_later:
            parts.append(f"{len(self.retry_later)} to retry later")
        if self.other_servers:
            parts.append(f"{self.other_servers} from another server (not tried)")
        if self.stand_ins:
            parts.append(f"{self.stand_ins} emulator stand-ins (not asked of a real service)")
        return f"ResumeReport({', '.join(parts)})"


def gallery_of(client: KleinClient) -> Gallery | None:
    """The gallery ``client`` journals to, whose pending tasks `resume_tasks` fetches; None
    for another `Journal` (it keeps no list of tasks to fetch) or none."""
    return client.journal if isinstance(client.journal, Gallery) else None


def resume_tasks(
    client: KleinClient, store: Gallery | None, *, timeout: float | None = 120.0
) -> ResumeReport:
    """Fetch ``store``'s accepted tasks whose image never arrived, with ``client``.

    Nothing is submitted: only results are fetched. `klein_widget.resume` is the door
    that picks the session's client and gallery.
    """
    report = ResumeReport()
    if store is None:
        return report
    here = url_origin(client.base_url)
    real = not client.server_simulates
    todo = []
    for entry in store.pending():
        if entry.origin and entry.origin != here:
            report.other_servers += 1
        elif not entry.origin and entry.simulated and real:
            # Submitted to a simulating server (or nobody knows where): its id means
            # nothing to a real service, and a 404 there would mark a live task failed.
            report.stand_ins += 1
        else:
            todo.append(entry)
    if not todo:
        return report
    plan = Plan(
        [entry.request for entry in todo],
        [Job(entry.request, (i,), entry.task_id) for i, entry in enumerate(todo)],
    )
    # The one batch runner, fetching only: a task that will never arrive is marked failed
    # in this gallery, one that did not answer this time gets an attempt counted.
    options = BatchOptions(
        concurrency=RESUME_WORKERS, timeout=timeout, journal=store, resubmit_lost=False
    )
    result = run_plan(client, plan, options)
    for entry, item in zip(todo, result, strict=True):
        if item.generation is not None:
            # The client's journal may be elsewhere (or off): make sure this gallery has it
            # (`task_completed` saves a task once: one already saved comes back as it is).
            report.generations.append(store.task_completed(item.generation))
        elif isinstance(item.error, AuthenticationError):
            raise item.error  # every task fails the same way: stop and say so
        elif isinstance(item.error, GenerationFailedError) or (
            isinstance(item.error, APIStatusError) and item.error.status_code == 404
        ):
            report.failed[entry.task_id] = str(item.error)
        else:
            report.retry_later[entry.task_id] = str(item.error)
    return report
