"""The emulator's live state: its knobs, faults, request log and uploads; its tasks (the
simulated queue, the rate limiter, the history) are in `klein_widget.emulator._tasks`.

Every knob is a plain attribute and may be changed between requests; ``configure``
does the same with validation. Changes apply to tasks submitted afterwards.

Example:
    >>> emu = Emulator(inference_time=0.02)
    >>> emu.script("result", 503)
    >>> emu.accepted
    0
"""

from __future__ import annotations

import asyncio
import fnmatch
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from klein_widget.emulator._faults import (
    Action,
    Channel,
    FaultDice,
    Faults,
    FaultScript,
)
from klein_widget.emulator._settings import (
    CONFIGURABLE,
    DEFAULT_MAX_BODY_BYTES,
    TIERS,
    Knobs,
    LiveKnobs,
    Settings,
    Tier,
)
from klein_widget.emulator._task import RequestRecord, Task
from klein_widget.emulator._tasks import TaskBook
from klein_widget.emulator._uploads import Uploads

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

    from klein_widget.store._pack import LessonPack

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "TIERS",
    "Emulator",
    "RequestRecord",
    "Settings",
    "Task",
    "Tier",
]


class Emulator(TaskBook):
    """The state behind one emulator app, reachable as ``app.state.emulator``: its knobs,
    faults and request log here, its tasks in `TaskBook`.

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
        if tier is not None:  # as in the constructor, explicit limits win
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

    def pending_script(self, channel: Channel | None = None) -> int:
        """How many scripted faults have not happened yet."""
        return self._script.pending(channel)

    def next_fault(self, channel: Channel) -> Action | None:
        """The fault for this request: the script first, then the seeded rates."""
        scripted = self._script.pop(channel)
        if scripted is not None:
            return None if scripted == "ok" else scripted
        if channel in ("result", "image"):
            return self._dice.result() if channel == "result" else None
        if channel == "task":
            return self._dice.task()
        if channel == "sync":
            return self._dice.sync()
        return None

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
