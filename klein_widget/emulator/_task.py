"""The emulator's records: one task and one logged request (the account tiers and the
knobs' checks are in `klein_widget.emulator._settings`).

Example:
    >>> RequestRecord("GET", "/", 200).status
    200
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from klein_widget.client._models import GenerationRequest, Status
from klein_widget.emulator._render import BADGE_TEXT, edit_png, render_png

__all__ = ["RequestRecord", "Task"]

# Enough for a sync answer and its download; a classroom server must not hoard images.
_render = lru_cache(maxsize=32)(render_png)
_render_edit = lru_cache(maxsize=8)(edit_png)  # keyed by the references' bytes too


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
    image_urls: tuple[str, ...] = ()  # and their URLs, as sent (the history lists them)
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
        if self.loras:  # the LoRAs do not change the stand-in, so it says they were asked for
            count = len(self.loras)
            title = f"{BADGE_TEXT} \u00b7 {count} LoRA{'s' if count > 1 else ''}"
            return _render(r.prompt, r.seed, r.width, r.height, title=title)
        return _render(r.prompt, r.seed, r.width, r.height)
