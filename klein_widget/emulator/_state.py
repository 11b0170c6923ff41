"""The emulator's live state (`Emulator`): its knobs, faults, request log and uploads, and
its tasks: the simulated queue, the rate limiter, submits and the history.

Every knob is a plain attribute and may be changed between requests; ``configure``
does the same with validation. Changes apply to tasks submitted afterwards.

Time is simulated lazily, with no background workers: when a task is submitted it is
given its place in a FIFO queue of ``concurrency`` slots, so its ``start`` and
``finish`` instants are known at once; its status is then read off the clock
(``created`` before ``start``, ``processing`` until ``finish``, then ``completed`` or
``failed``). That works the same in-process (ASGITransport, TestClient) and over
uvicorn, and survives event loops coming and going between requests.

Example:
    >>> emu = Emulator(inference_time=0.02)
    >>> emu.script("result", 503)
    >>> emu.accepted, emu.history(None, None)
    (0, [])
"""

from __future__ import annotations

import asyncio
import fnmatch
import math
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._models import ENHANCER_MODEL_ID, RANDOM_SEED, GenerationRequest
from klein_widget.emulator._faults import Action, Channel, FaultDice, Faults, FaultScript
from klein_widget.emulator._settings import CONFIGURABLE, TIERS, Knobs, LiveKnobs, Settings
from klein_widget.emulator._task import RequestRecord, Task
from klein_widget.emulator._uploads import Uploads

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

    from klein_widget.store._pack import LessonPack

__all__ = ["Emulator", "RequestRecord", "Task"]


class Emulator:
    """The state behind one emulator app, reachable as ``app.state.emulator``: its knobs,
    faults, request log and tasks.

    Example:
        >>> emu = Emulator(concurrency=2, rate_limit=10)
        >>> emu.configure(inference_time=0.05)
        >>> emu.inference_time
        0.05
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        packs: Sequence[LessonPack] = (),
        **knobs: Unpack[Knobs],
    ) -> None:
        # One declaration of the knobs (`Settings`): its fields are these attributes, plain
        # and changeable between requests (`configure` checks a change).
        s = Settings.of(settings, knobs).resolved()
        self.inference_time = s.inference_time
        self.api_key = s.api_key
        self.concurrency = s.concurrency
        self.rate_limit = s.rate_limit
        self.rate_window = s.rate_window
        self.sync_timeout = s.sync_timeout
        self.queue_time = s.queue_time
        self.max_body_bytes = s.max_body_bytes
        self.network_delay = s.network_delay
        self.connection_round_trips = s.connection_round_trips
        self.seed = s.seed
        self.packs = list(packs)
        """Lesson packs: a submit one of them holds (same model, prompt, size and concrete
        seed) completes with the pack's image instead of a drawn one."""
        self._faults = s.faults or Faults()
        self._dice = FaultDice(self._faults, self.seed)
        self._script = FaultScript()
        self._lock = threading.Lock()
        self.tasks: dict[str, Task] = {}
        self._clear_tasks()
        self.background: set[asyncio.Task[None]] = set()  # image drawing in progress
        self.requests: list[RequestRecord] = []
        """Every answered request, oldest first (see `count`)."""
        self.uploads = Uploads()
        """Files sent with WaveSpeed's upload protocol (see `_uploads`)."""

    def __repr__(self) -> str:
        return (
            f"Emulator(inference_time={self.inference_time}, concurrency={self.concurrency}, "
            f"rate_limit={self.rate_limit}, tasks={len(self.tasks)}, accepted={self.accepted})"
        )

    # -- knobs -------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """The fault rates in force; assign a new `Faults` to change them all at once."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        Settings(faults=faults)  # checks it
        self._faults = faults
        self._dice = FaultDice(faults, self.seed)

    def configure(self, **knobs: Unpack[LiveKnobs]) -> None:
        """Set knobs by name, validated (``emu.configure(concurrency=1, rate_limit=2)``).

        ``tier="bronze"`` (or silver, gold, ultra) sets ``rate_limit`` and ``concurrency``
        to that WaveSpeed tier's, unless they are given too.

        Example:
            >>> emu = Emulator()
            >>> emu.configure(tier="silver", network_delay=0.05)
            >>> (emu.rate_limit, emu.concurrency, emu.network_delay)
            (500, 300, 0.05)
        """
        unknown = set(knobs) - CONFIGURABLE
        if unknown:
            raise ValueError(f"unknown emulator knob(s): {', '.join(sorted(unknown))}")
        Settings.of(None, knobs)  # checks them
        tier = knobs.pop("tier", None)
        if tier is not None:  # explicit limits win, even None (no limit)
            knobs.setdefault("rate_limit", TIERS[tier].rate_limit)
            knobs.setdefault("concurrency", TIERS[tier].concurrency)
        for name, value in knobs.items():
            setattr(self, name, value)

    def script(self, channel: Channel, *actions: Action) -> None:
        """Queue exact faults for the next requests on ``channel`` (see `_faults`).

        Example:
            >>> emu = Emulator()
            >>> emu.script("result", 503, 503, "drop")
            >>> emu.script("task", "fail")
        """
        self._script.add(channel, *actions)

    def pending_script(self) -> int:
        """How many scripted faults have not happened yet."""
        return self._script.pending()

    def next_fault(self, channel: Channel) -> Action | None:
        """The fault for this request: the script first, then the seeded rates."""
        scripted = self._script.pop(channel)
        if scripted is not None:
            return None if scripted == "ok" else scripted
        draw = {"result": self._dice.result, "task": self._dice.task, "sync": self._dice.sync}
        return draw[channel]() if channel in draw else None  # the other channels: scripts only

    # -- log -----------------------------------------------------------------------------

    def log(self, method: str, path: str, status: int) -> None:
        """Record one answered request (called by the app)."""
        with self._lock:
            self.requests.append(RequestRecord(method, path, status))

    def count(
        self, method: str | None = None, path: str | None = None, *, status: int | None = None
    ) -> int:
        """How many logged requests match; ``path`` may use ``*`` wildcards.

        Example:
            >>> emu = Emulator()
            >>> emu.count("GET", "/api/v3/predictions/*/result")
            0
        """
        with self._lock:
            records = list(self.requests)
        return sum(
            1
            for r in records
            if (method is None or r.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(r.path, path))
            and (status is None or r.status == status)
        )

    def reset(self) -> None:
        """Forget tasks, uploads, the log, scripted faults, the rate window and ``accepted``."""
        with self._lock:
            self.requests.clear()
            self._clear_tasks()
        self._script.clear()
        self.uploads.clear()
        self._dice = FaultDice(self._faults, self.seed)

    # -- tasks ---------------------------------------------------------------------------

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
        """The image a lesson pack holds for this request (never for a -1 seed: the pack's
        rule), or None."""
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

    def submit_text(self, text: str) -> Task:
        """Run the prompt optimizer (free, quick, never faulted)."""
        duration = min(self.inference_time, 0.2)
        return self._new_task(ENHANCER_MODEL_ID, time.monotonic(), duration, text=text)

    def get(self, task_id: str) -> Task | None:
        """The task with this id, or None."""
        return self.tasks.get(task_id)

    def history(self, after: datetime | None, before: datetime | None) -> list[Task]:
        """The account's predictions created in ``[after, before]`` (either end open),
        newest first: what ``POST /api/v3/predictions`` lists."""
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
