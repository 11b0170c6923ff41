"""After a submit: paid tasks are followed until WaveSpeed says completed or failed, and
submits of unknown fate are settled against WaveSpeed's record, so no student is charged
for nothing and no paid image is lost.

- `Aftercare.follow`: a task upstream accepted (its upstream id known) is fetched, with
  backoff (1 s doubling to ``max_backoff``), for as long as WaveSpeed may keep it
  (``retention``): a result endpoint erring for a while, or an image store that cannot
  take the file, only delays it. The row stays ``submitted``, so a restart follows it on.
- `Aftercare.settle`: a ``pending`` task (its submit answered 5xx, or the connection or the
  gateway died mid-forward) is looked up in the account's prediction history
  (`klein_widget.gateway._settle`), after ``settle_after`` seconds so the record is there:
  found → followed and charged; surely absent → refunded, and the student is told which.

Example:
    >>> care = Aftercare(db, run, upstream, finished)  # doctest: +SKIP
    >>> care.follow(task.id, "upstream-id")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timezone
from typing import Any

from klein_widget.client._exceptions import GenerationFailedError, KleinError
from klein_widget.gateway._db import ClassDB
from klein_widget.gateway._settle import Verdict, history, verdict
from klein_widget.gateway._upstream import Upstream
from klein_widget.gateway._worker import DBThread

__all__ = ["PENDING", "REFUNDED", "Aftercare"]

_log = logging.getLogger(__name__)
PENDING = (
    "WaveSpeed's answer to this submit was lost, so the gateway is checking WaveSpeed's own "
    "record: if it made the image you get it (and are charged), if not you are refunded."
)
REFUNDED = (
    "WaveSpeed has no record of this submit: nothing was made and the charge was refunded. "
    "Ask again."
)
STORE_FULL = "the image is made and paid for; the class store cannot keep it yet, retrying"


def _age(created_at: str) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(created_at)).total_seconds()


class Aftercare:
    """Follows accepted tasks and settles pending ones, each in its own job."""

    def __init__(
        self,
        db: ClassDB,
        run: DBThread,
        upstream: Upstream,
        finished: Callable[[str], Awaitable[None]],
        *,
        settle_after: float = 10.0,
        max_backoff: float = 60.0,
        retention: float = 7 * 86400.0,
    ) -> None:
        self.db, self.run, self.upstream = db, run, upstream
        self._finished = finished
        self.settle_after = settle_after
        self.max_backoff = max_backoff
        self.retention = retention
        self.jobs: dict[str, asyncio.Task[None]] = {}

    def _start(self, task_id: str, work: Coroutine[Any, Any, None]) -> None:
        if task_id in self.jobs:
            work.close()
            return
        job = asyncio.get_running_loop().create_task(work)
        self.jobs[task_id] = job
        job.add_done_callback(lambda _: self.jobs.pop(task_id, None))

    def follow(self, task_id: str, upstream_id: str) -> None:
        """Fetch an accepted task until it completes or fails upstream."""
        self._start(task_id, self._ended(task_id, self._follow(task_id, upstream_id)))

    def settle(self, task_id: str) -> None:
        """Find out whether a pending task reached upstream; follow it or refund it."""
        self._start(task_id, self._ended(task_id, self._settle(task_id)))

    async def stop(self) -> None:
        """Stop every job; the rows keep their state for the next start."""
        for job in list(self.jobs.values()):
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await job

    async def _ended(self, task_id: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:  # a bug must not end the follow-up silently: the row says where
            _log.exception("task %s: follow-up stopped", task_id)
            return
        await self._finished(task_id)

    def _backoff(self, delay: float) -> float:
        return min(self.max_backoff, delay * 2)

    async def _follow(self, task_id: str, upstream_id: str) -> None:
        task = await self.run(self.db.task, task_id)
        if task is None or not task.open:
            return
        request = dataclasses.replace(task.request, sync_mode=False, base64_output=False)
        delay = 1.0
        while True:
            try:
                gen = await self.upstream.client.fetch(upstream_id, request=request)
            except GenerationFailedError as error:  # WaveSpeed refunds failed tasks too
                await self.run(self.db.refund, task_id, error.message)
                return
            except KleinError as error:
                why = error.message
            else:
                if gen.path is not None:
                    done = gen.prediction.inference_ms
                    await self.run(self.db.update, task_id, status="completed",
                                   upstream_id=upstream_id, inference_ms=done)  # fmt: skip
                    return
                why = STORE_FULL
            if _age(task.created_at) > self.retention:  # WaveSpeed no longer keeps it
                await self.run(self.db.update, task_id, status="failed", error=why)
                return
            _log.warning("task %s: still waiting for its image (%s)", task_id, why[:200])
            await asyncio.sleep(delay)
            delay = self._backoff(delay)

    async def _settle(self, task_id: str) -> None:
        await asyncio.sleep(self.settle_after)  # the record of a submit in flight lands first
        delay = 1.0
        while True:
            task = await self.run(self.db.task, task_id)
            if task is None or task.status != "pending":
                return
            after = datetime.fromisoformat(task.created_at)
            items = await history(self.upstream, after, datetime.now(timezone.utc))
            found: Verdict = ("unsure", None)
            if items is not None:
                ids = [str(i.get("id")) for i in items if isinstance(i, dict)]
                owned = await self.run(self.db.owned_upstream_ids, ids)
                found = verdict(items, task.request, owned, task.inputs)
            if found[0] == "none":
                await self.run(self.db.refund, task_id, REFUNDED)
                return
            if found[0] == "found" and found[1] is not None:
                await self.run(self.db.update, task_id, status="submitted", upstream_id=found[1])
                await self._follow(task_id, found[1])
                return
            await asyncio.sleep(delay)
            delay = self._backoff(delay)
