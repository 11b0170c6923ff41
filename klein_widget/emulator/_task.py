"""The emulator's records: one task, one logged request, WaveSpeed's account tiers, and the
checks every knob goes through (`Emulator.configure` and `create_app` alike).

Example:
    >>> TIERS["bronze"].rate_limit
    2
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from klein_widget.client._models import GenerationRequest, Status
from klein_widget.emulator._edit_render import edit_png
from klein_widget.emulator._faults import Faults
from klein_widget.emulator._render import render_png

__all__ = ["TIERS", "RequestRecord", "Task", "Tier", "check_knobs"]

# Enough for a sync answer and its download; a classroom server must not hoard images.
_render = lru_cache(maxsize=32)(render_png)
_render_edit = lru_cache(maxsize=8)(edit_png)  # keyed by the references' bytes too


@dataclass(frozen=True)
class Tier:
    """One of WaveSpeed's public account tiers: images per minute and tasks at once."""

    rate_limit: int
    concurrency: int


TIERS: dict[str, Tier] = {
    # WaveSpeed's account-level limits (see WAVESPEED_API.md); over-concurrency tasks queue.
    "bronze": Tier(rate_limit=2, concurrency=2),
    "silver": Tier(rate_limit=500, concurrency=300),
    "gold": Tier(rate_limit=3000, concurrency=3000),
    "ultra": Tier(rate_limit=5000, concurrency=10000),
}


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator answered. ``status`` 0 means the connection was dropped."""

    method: str
    path: str
    status: int
    at: float = field(default_factory=time.monotonic, compare=False)


@dataclass
class Task:
    """One prediction: a text-to-image task (``request`` set) or an enhancer run (``text``)."""

    id: str
    model: str
    created_at: datetime
    start: float
    finish: float
    inference_ms: int
    request: GenerationRequest | None = None
    text: str | None = None
    fail_reason: str = ""
    nsfw: bool = False
    prerendered: bool = False  # the image was drawn during the simulated inference
    stored: bytes | None = None  # a lesson pack's image for this request, served as it is
    references: tuple[bytes, ...] = ()  # an edit's input images, first one first
    loras: tuple[tuple[str, float], ...] = ()  # (path, scale) of each LoRA, as sent
    price_mills: int = 0  # what this task bills (simulated), from the family's table

    def status(self, now: float) -> Status:
        """Where the task stands at monotonic time ``now``."""
        if now < self.start:
            return "created"
        if now < self.finish:
            return "processing"
        return "failed" if self.fail_reason else "completed"

    def image(self) -> bytes:
        """The output image: a lesson pack's, else a drawn PNG (rendering is deterministic,
        so only recent ones are kept)."""
        assert self.request is not None, "only text-to-image tasks have images"
        if self.stored is not None:
            return self.stored
        r = self.request
        if self.references:
            return _render_edit(r.prompt, r.seed, r.width, r.height, self.references)
        return _render(r.prompt, r.seed, r.width, r.height)


def check_knobs(knobs: dict[str, Any]) -> None:
    """Raise `ValueError` naming the first knob out of range."""

    def number(name: str, low: float, allow_none: bool = False) -> None:
        if name not in knobs:
            return
        value = knobs[name]
        if value is None and allow_none:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
            none = " or None" if allow_none else ""
            raise ValueError(f"{name} must be a number >= {low}{none}, not {value!r}")

    number("inference_time", 0)
    number("queue_time", 0)
    number("sync_timeout", 0, allow_none=True)
    number("rate_window", 0.001)
    number("concurrency", 1, allow_none=True)
    number("rate_limit", 1, allow_none=True)
    number("max_body_bytes", 1)
    number("network_delay", 0)
    number("connection_round_trips", 0)
    trips = knobs.get("connection_round_trips", 0)
    if isinstance(trips, bool) or not isinstance(trips, int):
        raise ValueError(f"connection_round_trips must be a whole number, not {trips!r}")
    if knobs.get("tier") is not None and knobs["tier"] not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)} or None, not {knobs['tier']!r}")
    if knobs.get("faults") is not None and not isinstance(knobs["faults"], Faults):
        raise ValueError(f"faults must be a Faults instance, not {knobs['faults']!r}")
