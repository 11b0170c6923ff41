"""Fault injection: seeded rates for soak tests, exact scripts for unit tests.

Two ways to make the emulator misbehave, and a script always wins over the rates:

* `Faults` holds probabilities. Each *channel* draws from its own
  ``random.Random(f"{seed}:{channel}")``, so the decisions for, say, tasks do not depend
  on how many times a client polled, and a run reproduces under the same seed.
* `FaultScript` holds exact actions, consumed one per matching request, in order
  (``emulator.script("result", 503, "drop")``: the next result GET answers 503, the one
  after is dropped, then the rates apply again).

Channels and the actions they accept:

============  ===================================================================
``submit``    an HTTP status (400-599; 429 carries ``Retry-After``) answered
              instead of accepting the task; ``"drop"`` / ``"reset"``: the task IS
              accepted (and billed) and the connection then closes with no answer,
              the ambiguous case a client must never retry blindly; ``"ok"``
``result``    for ``GET /api/v3/predictions/{id}[/result]``: an HTTP status,
              ``"drop"`` (close: the client sees "server disconnected"),
              ``"reset"`` (TCP reset), ``"ok"``
``image``     the same, for downloads of output images
``task``      ``"fail"`` (status ``failed``, reason in ``data.error``, HTTP 200),
              ``"nsfw"`` (completed, ``has_nsfw_contents: [true]``), ``"ok"``
``sync``      for sync-mode submissions: ``"gateway"`` (a 504 HTML page, no task
              id), ``"body"`` (HTTP 200, ``data.status: "processing"``, ``data.code:
              5004``, error "Sync mode timed out ..."; the task goes on), ``"ok"``
``upload``    scripted only, for the upload ticket (``POST /api/v3/media/uploads``)
              and the PUT of its bytes, one action per request in order: an HTTP
              status, ``"drop"``, ``"reset"``, ``"ok"``
============  ===================================================================

``task`` and ``sync`` apply to text-to-image tasks only, never to the prompt optimizer.
502 and 504 are answered as HTML gateway pages, other statuses as JSON envelopes.

Example:
    >>> faults = Faults(fail_rate=0.5)
    >>> a, b = FaultDice(faults, seed=1), FaultDice(faults, seed=1)
    >>> [a.task() for _ in range(8)] == [b.task() for _ in range(8)]
    True
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, fields
from typing import Literal, get_args

__all__ = ["Action", "Channel", "FaultDice", "FaultScript", "Faults", "SyncStyle"]

Channel = Literal["submit", "result", "image", "task", "sync", "upload"]
SyncStyle = Literal["gateway", "body"]
Action = int | str
CHANNELS: tuple[Channel, ...] = get_args(Channel)

_WORDS: dict[str, frozenset[str]] = {
    "submit": frozenset({"drop", "reset", "ok"}),
    "result": frozenset({"drop", "reset", "ok"}),
    "image": frozenset({"drop", "reset", "ok"}),
    "task": frozenset({"fail", "nsfw", "ok"}),
    "sync": frozenset({"gateway", "body", "ok"}),
    "upload": frozenset({"drop", "reset", "ok"}),
}
_TAKES_STATUS: frozenset[str] = frozenset({"submit", "result", "image", "upload"})


@dataclass
class Faults:
    """Probabilities of each fault, all 0 by default (a well-behaved server).

    Example:
        >>> Faults(drop_rate=0.05, sync_timeout_style="body").sync_timeout_style
        'body'
    """

    result_error_rate: float = 0.0
    """Share of result GETs answered with ``result_error_status``."""
    result_error_status: int = 503
    drop_rate: float = 0.0
    """Share of result GETs whose connection is dropped without an answer."""
    fail_rate: float = 0.0
    """Share of tasks that end ``failed``."""
    sync_timeout_rate: float = 0.0
    """Share of sync-mode submissions that time out (the task goes on)."""
    sync_timeout_style: SyncStyle = "gateway"
    """How a sync timeout looks, injected or real (see `FaultScript`)."""
    nsfw_rate: float = 0.0
    """Share of completed tasks flagged ``has_nsfw_contents: [true]``."""

    def __post_init__(self) -> None:
        for name in (f.name for f in fields(self) if f.name.endswith("_rate")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number from 0 to 1, not {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be from 0 to 1, not {value}")
        if self.result_error_rate + self.drop_rate > 1.0:
            raise ValueError("result_error_rate + drop_rate must not exceed 1")
        _check_status(self.result_error_status)
        if self.sync_timeout_style not in get_args(SyncStyle):
            raise ValueError(
                f"sync_timeout_style must be 'gateway' or 'body', not {self.sync_timeout_style!r}"
            )


def _check_status(status: int) -> int:
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError(f"a fault status must be an HTTP error status 400-599, not {status!r}")
    return status


def check_action(channel: str, action: Action) -> Action:
    """Return ``action`` if ``channel`` accepts it, else raise ValueError saying what does."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown fault channel {channel!r}; use one of {', '.join(CHANNELS)}")
    words = _WORDS[channel]
    if isinstance(action, int) and not isinstance(action, bool) and channel in _TAKES_STATUS:
        return _check_status(action)
    if isinstance(action, str) and action in words:
        return action
    allowed = sorted(words) + (["an HTTP status 400-599"] if channel in _TAKES_STATUS else [])
    raise ValueError(f"channel {channel!r} accepts {', '.join(allowed)}; not {action!r}")


class FaultScript:
    """Exact actions queued per channel, consumed in order by matching requests."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Action]] = {c: deque() for c in CHANNELS}
        self._lock = threading.Lock()

    def add(self, channel: Channel, *actions: Action) -> None:
        """Queue ``actions`` on ``channel`` (validated first: all or nothing)."""
        checked = [check_action(channel, a) for a in actions]
        with self._lock:
            self._queues[channel].extend(checked)

    def pop(self, channel: Channel) -> Action | None:
        """The next scripted action for ``channel``, or None when its queue is empty."""
        with self._lock:
            queue = self._queues[channel]
            return queue.popleft() if queue else None

    def pending(self) -> int:
        """How many scripted actions are still waiting."""
        with self._lock:
            return sum(len(q) for q in self._queues.values())

    def clear(self) -> None:
        """Forget every scripted action."""
        with self._lock:
            for queue in self._queues.values():
                queue.clear()


class FaultDice:
    """Seeded draws, one independent stream per channel; None means "behave"."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.faults = faults
        self._rngs = {c: random.Random(f"{seed}:{c}") for c in (*CHANNELS, "nsfw")}
        self._lock = threading.Lock()

    def _draw(self, stream: str) -> float:
        with self._lock:
            return self._rngs[stream].random()

    def result(self) -> Action | None:
        """The fault for one result GET, if any."""
        f = self.faults
        if not (f.drop_rate or f.result_error_rate):
            return None
        r = self._draw("result")
        if r < f.drop_rate:
            return "drop"
        if r < f.drop_rate + f.result_error_rate:
            return f.result_error_status
        return None

    def task(self) -> Action | None:
        """``"fail"``, ``"nsfw"`` or None for one new text-to-image task."""
        f = self.faults
        if f.fail_rate and self._draw("task") < f.fail_rate:
            return "fail"
        if f.nsfw_rate and self._draw("nsfw") < f.nsfw_rate:
            return "nsfw"
        return None

    def sync(self) -> Action | None:
        """The sync-timeout style for one sync-mode submission, or None."""
        f = self.faults
        if f.sync_timeout_rate and self._draw("sync") < f.sync_timeout_rate:
            return f.sync_timeout_style
        return None
