"""After a submit: paid tasks are followed until WaveSpeed says completed or failed, and
submits of unknown fate are settled against WaveSpeed's record, so no student is charged
for nothing and no paid image is lost.

- `Aftercare.follow`: a task upstream accepted (its upstream id known) is fetched, with
  backoff (1 s doubling to ``max_backoff``), for as long as WaveSpeed may keep it
  (``retention``): a result endpoint erring for a while, or an image store that cannot
  take the file, only delays it. The row stays ``submitted``, so a restart follows it on.
- `Aftercare.settle`: a ``pending`` task (its submit answered 5xx, or the connection or the
  gateway died mid-forward) is looked up in the account's prediction history
  (``POST /api/v3/predictions`` with a time window: `history`), after ``settle_after``
  seconds so the record is there: found → followed and charged; surely absent → refunded,
  and the student is told which.

The rule for settling is the cautious one (`verdict`): a task is refunded only when the
history answered in full for the window and holds no prediction that could be it; a
prediction with exactly its model, prompt, size and seed (the gateway always sends a
concrete seed) that no other task of the class owns is taken as it, then fetched and
charged like any other; anything the gateway cannot tell apart (a history item without its
input) keeps the task pending.

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
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import httpx

from klein_widget.client._exceptions import GenerationFailedError, KleinError
from klein_widget.client._models import GenerationRequest
from klein_widget.gateway._db import ClassDB, DBThread
from klein_widget.gateway._rows import Inputs
from klein_widget.gateway._upstream import Upstream

__all__ = ["HISTORY_PATH", "PENDING", "REFUNDED", "Aftercare", "Verdict", "history", "verdict"]

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
HISTORY_PATH = "/api/v3/predictions"
_PAGE = 100
_MAX_PAGES = 50  # 5,000 predictions in one window: far more than one class makes
SLACK = timedelta(minutes=2)  # clocks differ: widen the window both ways

Verdict = tuple[Literal["found", "none", "unsure"], str | None]


async def history(upstream: Upstream, after: datetime, before: datetime) -> list[Any] | None:
    """Every prediction of the account created in ``[after, before]`` (widened by
    `SLACK`), or None if the history could not be read in full (try again later)."""
    items: list[Any] = []
    for page in range(1, _MAX_PAGES + 1):
        body = {
            "page": page,
            "page_size": _PAGE,
            "created_after": (after - SLACK).isoformat(),
            "created_before": (before + SLACK).isoformat(),
        }
        try:
            answer = await upstream.post(HISTORY_PATH, body)
            data = answer.json().get("data") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            _log.warning("prediction history unreadable: %s", type(error).__name__)
            return None
        found = data.get("items") if isinstance(data, dict) else None
        if not isinstance(found, list):
            _log.warning("prediction history: HTTP %s, no list of items", answer.status_code)
            return None
        items += found
        if len(found) < _PAGE:
            return items
    return None  # more than we can read: stay pending rather than guess


def _same_input(item: dict[str, Any], request: GenerationRequest, inputs: Inputs) -> bool | None:
    """Whether a history item was made from ``request`` (None: it does not say). An edit
    sent without a size matches whatever size upstream chose; its images must agree."""
    given = item.get("input")
    if not isinstance(given, dict) or "prompt" not in given:
        return None
    size = f"{request.width}*{request.height}"
    sent = str(given.get("size", "1024*1024")).replace("x", "*")
    return (
        given.get("prompt") == request.prompt
        and (sent == size or not inputs.sized)
        and given.get("seed") == request.seed
        and given.get("images", list(inputs.images)) == list(inputs.images)
    )


def verdict(
    items: list[Any], request: GenerationRequest, owned: set[str], inputs: Inputs | None = None
) -> Verdict:
    """("found", id) if exactly one unowned prediction of the task's model (``inputs``;
    default 4B) matches ``request``; ("none", None) if none can; ("unsure", None) if an
    item cannot be told apart, or two match.

    Example:
        >>> verdict([], GenerationRequest("a fox", 320, 256, 7), owned=set())
        ('none', None)
    """
    inputs = inputs or Inputs()
    matches: list[str] = []
    unsure = False
    for item in items:
        if not isinstance(item, dict) or item.get("id") in owned:
            continue
        if item.get("model") not in (None, inputs.klein_model.id):
            continue
        same = _same_input(item, request, inputs)
        if same is None:
            unsure = True
        elif same:
            matches.append(str(item.get("id")))
    if len(matches) == 1:
        return "found", matches[0]
    if matches or unsure:
        return "unsure", None
    return "none", None


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
            delay = min(self.max_backoff, delay * 2)

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
            delay = min(self.max_backoff, delay * 2)
