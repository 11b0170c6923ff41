"""What the server says about a task (`Prediction`) and the statuses it can be in: pure data.

A task's answer is read here and nowhere else; what is valid to ask for is `_models`.

Example:
    >>> Prediction.from_json({"id": "t1", "status": "completed", "outputs": ["u"]}).done
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

MODEL_ID = "wavespeed-ai/flux-2-klein-4b/text-to-image"  # what a task was made by, unless it says

Status = Literal[
    "created",
    "pending",
    "queued",
    "starting",
    "processing",
    "completed",
    "failed",
    "cancelled",
    "timeout",
    "deleted",
]
STATUSES: tuple[Status, ...] = get_args(Status)
WAITING_STATUSES: frozenset[Status] = frozenset({"created", "pending", "queued", "starting"})
FAILED_STATUSES: frozenset[Status] = frozenset({"failed", "cancelled", "timeout", "deleted"})
TERMINAL_STATUSES: frozenset[Status] = FAILED_STATUSES | {"completed"}


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _field(data: Mapping[str, Any], name: str, kind: type, default: Any) -> Any:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ValueError(f"'{name}' is a {type(value).__name__}, not a {kind.__name__}")
    return value


def _queue_place(gateway: object) -> dict[str, Any]:
    """A classroom gateway's place in line and the student's budget left (``data.gateway``);
    anything odd is ignored."""
    if not isinstance(gateway, Mapping):
        return {}
    position, wait = gateway.get("queue_position"), gateway.get("estimated_wait_s")
    place: dict[str, Any] = {}
    if isinstance(position, int) and not isinstance(position, bool) and 0 < position < 1 << 31:
        place["queue_position"] = position
    if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait < 1e7:
        place["queue_wait"] = float(wait)
    left = gateway.get("budget_left_mills")  # what the student's class budget still holds
    if isinstance(left, int) and not isinstance(left, bool) and 0 <= left < 1 << 40:
        place["budget_left_mills"] = left
    return place


def _parse_status(value: object) -> Status:
    # An unknown status is treated as still running; the poll loop keeps asking.
    return value if value in STATUSES else "processing"


@dataclass(frozen=True)
class Prediction:
    """A task as the server reports it.

    Example:
        >>> p = Prediction.from_json({"id": "t1", "status": "completed", "outputs": ["u"]})
        >>> p.done, p.outputs
        (True, ('u',))
    """

    id: str
    model: str = MODEL_ID
    status: Status = "created"
    outputs: tuple[str, ...] = ()
    has_nsfw_contents: tuple[bool, ...] = ()
    timings: Mapping[str, int] = field(default_factory=dict)
    created_at: datetime | None = None
    error: str = ""
    urls: Mapping[str, str] = field(default_factory=dict)
    # Not WaveSpeed's: the local emulator and a classroom gateway say whether their price is
    # simulated, and a gateway says where a waiting task stands in the class's queue.
    simulated: bool | None = None
    cached: bool = False  # a gateway answered from its class store: nothing was charged
    queue_position: int | None = None
    queue_wait: float | None = None
    budget_left_mills: int | None = None  # a gateway's: what the student's budget holds

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prediction:
        """Build from an envelope's ``data``; unknown fields are ignored, missing ones default.

        Raises `ValueError` naming the field when a field has the wrong type (``outputs``
        not a list of strings, say): a server that says that has not described a task.
        """
        timings = _field(data, "timings", Mapping, {})
        urls = _field(data, "urls", Mapping, {})
        outputs = _field(data, "outputs", list, [])
        if not all(isinstance(o, str) for o in outputs):
            raise ValueError("'outputs' holds something other than text")
        task_id, simulated = data.get("id"), data.get("simulated")
        gateway = data.get("gateway")
        return cls(
            id=task_id if isinstance(task_id, str) else "",
            model=str(data.get("model") or MODEL_ID),
            status=_parse_status(data.get("status")),
            outputs=tuple(outputs),
            has_nsfw_contents=tuple(bool(f) for f in _field(data, "has_nsfw_contents", list, [])),
            timings={
                str(k): int(v)
                for k, v in timings.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and abs(v) < 1e12
            },
            created_at=_parse_time(data.get("created_at")),
            error=str(data.get("error") or "")[:2000],
            urls={str(k): v for k, v in urls.items() if isinstance(v, str)},
            simulated=simulated if isinstance(simulated, bool) else None,
            cached=isinstance(gateway, Mapping) and gateway.get("cached") is True,
            **_queue_place(gateway),
        )

    @property
    def done(self) -> bool:
        """True once the task is in any terminal state."""
        return self.status in TERMINAL_STATUSES

    @property
    def failed(self) -> bool:
        """True if the task ended without an image."""
        return self.status in FAILED_STATUSES

    @property
    def inference_ms(self) -> int | None:
        """The server's inference time in milliseconds, once known."""
        return self.timings.get("inference")

    @property
    def nsfw(self) -> bool:
        """True if the server flagged any output as NSFW."""
        return any(self.has_nsfw_contents)
