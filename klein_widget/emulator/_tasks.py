"""The emulator's tasks: the simulated queue, the rate limiter, submits and the history
(`TaskBook`, which `klein_widget.emulator._state.Emulator` is).

Time is simulated lazily, with no background workers: when a task is submitted it is
given its place in a FIFO queue of ``concurrency`` slots, so its ``start`` and
``finish`` instants are known at once; its status is then read off the clock
(``created`` before ``start``, ``processing`` until ``finish``, then ``completed`` or
``failed``). That works the same in-process (ASGITransport, TestClient) and over
uvicorn, and survives event loops coming and going between requests. Knob changes
apply to tasks submitted afterwards.

Example:
    >>> from klein_widget.emulator import Emulator
    >>> Emulator(inference_time=0.02).history(None, None)
    []
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._models import ENHANCER_MODEL_ID, RANDOM_SEED, GenerationRequest
from klein_widget.emulator._faults import Action, Channel
from klein_widget.emulator._task import Task

if TYPE_CHECKING:
    from klein_widget.store._pack import LessonPack

__all__ = ["TaskBook"]


class TaskBook:
    """The tasks of one emulator, and how they queue and are counted (a part of `Emulator`,
    which sets the knobs read here and decides each task's fault).

    Example:
        >>> from klein_widget.emulator import Emulator
        >>> Emulator(concurrency=1).accepted
        0
    """

    # The knobs read here (plain attributes of `Emulator`, set from its `Settings`).
    inference_time: float
    concurrency: int | None
    queue_time: float
    rate_limit: int | None
    rate_window: float
    packs: list[LessonPack]
    tasks: dict[str, Task]
    _lock: threading.Lock

    def next_fault(self, channel: Channel) -> Action | None:
        """The fault for this request (`Emulator.next_fault`)."""
        raise NotImplementedError

    def _clear_tasks(self) -> None:
        """Forget every task, the counts and the rate window (under ``_lock``, or at start)."""
        self.tasks.clear()
        self.accepted = 0
        """Image tasks accepted, i.e. billed (the optimizer and uploads are free here)."""
        self.billed_mills = 0
        """What the accepted tasks cost at each model's price (simulated), in mills."""
        self._window_start = -math.inf
        self._window_count = 0

    def rate_limited(self, now: float) -> float | None:
        """Count one submission; return seconds to wait if it is over the limit."""
        with self._lock:
            if self.rate_limit is None:
                return None
            if now - self._window_start >= self.rate_window:
                self._window_start, self._window_count = now, 0
            if self._window_count >= self.rate_limit:
                return self._window_start + self.rate_window - now
            self._window_count += 1
            return None

    def _schedule(self, now: float) -> float:
        """When a task submitted at ``now`` may start: FIFO over ``concurrency`` slots."""
        earliest = now + self.queue_time
        if self.concurrency is None:
            return earliest
        busy = sorted(
            t.finish
            for t in self.tasks.values()
            if t.model != ENHANCER_MODEL_ID and t.finish > earliest
        )
        if len(busy) < self.concurrency:
            return earliest
        # The slot that frees first among the last task of each of the busy slots.
        return max(earliest, busy[len(busy) - self.concurrency])

    def _new_task(self, model: str, now: float, duration: float, **fields: Any) -> Task:
        with self._lock:
            # Only image tasks queue; the optimizer starts at once.
            start = self._schedule(now) if model != ENHANCER_MODEL_ID else now
            task = Task(
                id=uuid.uuid4().hex,
                model=model,
                created_at=datetime.now(timezone.utc),
                start=start,
                finish=start + duration,
                inference_ms=round(duration * 1000),
                **fields,
            )
            self.tasks[task.id] = task
            return task

    def pack_image(self, request: GenerationRequest) -> bytes | None:
        """The image a lesson pack holds for this request (never for a -1 seed), or None."""
        if request.seed == RANDOM_SEED:
            return None
        for pack in self.packs:
            found = pack.image_for(request)
            if found is not None:
                return found
        return None

    def submit(
        self,
        request: GenerationRequest,
        now: float | None = None,
        *,
        stored: bytes | None = None,
        model: KleinModel = DEFAULT_MODEL,
        references: tuple[bytes, ...] = (),
        image_urls: tuple[str, ...] = (),
        loras: tuple[tuple[str, float], ...] = (),
    ) -> Task:
        """Accept (and bill, at ``model``'s price) one image task; a -1 seed becomes a
        random one.

        ``stored``: the image to serve (a lesson pack's, see `pack_image`) instead of a
        drawn one. ``references``: an edit's input images (``image_urls``: as sent);
        ``loras``: (path, scale)s."""
        now = time.monotonic() if now is None else now
        if request.seed == RANDOM_SEED:
            # Like the real service: random, not reproducible, and not reported back.
            request = request.with_concrete_seed()
        fault = self.next_fault("task")
        task = self._new_task(
            model.id,
            now,
            self.inference_time,
            request=request,
            fail_reason=(
                "Emulated failure: the model could not generate this image (injected fault). "
                "Submit the request again."
                if fault == "fail"
                else ""
            ),
            nsfw=fault == "nsfw",
            stored=stored,
            references=references,
            image_urls=image_urls,
            loras=loras,
            price_mills=model.reserve_mills,  # an unconfirmed price: the family's highest
        )
        with self._lock:
            self.accepted += 1
            self.billed_mills += task.price_mills
        return task

    def submit_text(self, text: str, now: float | None = None) -> Task:
        """Run the prompt optimizer (free, quick, never faulted)."""
        now = time.monotonic() if now is None else now
        return self._new_task(ENHANCER_MODEL_ID, now, min(self.inference_time, 0.2), text=text)

    def get(self, task_id: str) -> Task | None:
        """The task with this id, or None."""
        return self.tasks.get(task_id)

    def history(self, after: datetime | None, before: datetime | None) -> list[Task]:
        """The account's predictions created in ``[after, before]`` (either end open),
        newest first: what ``POST /api/v3/predictions`` lists.

        Example:
            >>> from klein_widget.emulator import Emulator
            >>> Emulator().history(None, None)
            []
        """
        with self._lock:
            tasks = list(self.tasks.values())
        return sorted(
            (
                t
                for t in tasks
                if (after is None or t.created_at >= after)
                and (before is None or t.created_at <= before)
            ),
            key=lambda t: t.created_at,
            reverse=True,
        )
