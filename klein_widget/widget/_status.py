"""The panel's words: the status lines, each job's progress, connection and spend.

The status shows how each generation of the current batch ended (so an error is not
hidden by a later success) and, live, each one still in flight. One numbering for every
door: "#N" is only ever the history's number of an image; a job in flight or one that
failed (it never becomes an image) is named by its seed. The words themselves
come from `klein_widget.ui._text`, shared with ``%klein`` and the CLI.

Example:
    >>> status = PanelStatusLine()
    >>> status.add("Done in 0.7 s · seed 42", "ok", tag="#1")
    >>> status.render([], has_key=True)[0]
    'Done in 0.7 s · seed 42'
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from klein_widget.client._config import DEFAULT_BASE_URL
from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._generation import Generation
from klein_widget.client._ledger import Spend
from klein_widget.client._models import GenerationRequest
from klein_widget.client._run import Progress, Stage
from klein_widget.ui._text import budget_left_text, price_text, progress_text
from klein_widget.widget._order import PanelOrder

Kind = Literal["info", "busy", "ok", "warn", "error", "muted"]

NO_KEY_TEXT = (
    "No WaveSpeed API key yet: set WAVESPEED_API_KEY, run klein_widget.set_api_key(), "
    "or klein_widget.use_emulator()."
)
_STAGES = {  # what the progress bar names each stage
    "submitting": "sending",
    "rate_limited": "rate limited",
    "submitted": "generating",  # see PanelJob.stage
    "queued": "queued",
    "processing": "generating",
    "downloading": "downloading",
    "done": "done",
}


@dataclass
class PanelJob:
    """One generation in flight. ``asked`` is the request as the user made it (seed -1
    stays -1, for Retry); ``request`` has the concrete seed sent."""

    number: int
    request: GenerationRequest
    asked: GenerationRequest
    expected: float | None = None  # seconds, from the learned inference time
    started: float = dataclasses.field(default_factory=time.monotonic)
    progress: Progress | None = None
    task: asyncio.Task[Generation | None] | None = None
    detached: bool = False  # the user stopped waiting; the image still lands in history
    order: PanelOrder = dataclasses.field(default_factory=PanelOrder)  # model, references

    @property
    def accepted(self) -> bool:
        """True once the server may have accepted the task (it may be billed)."""
        return self.progress is not None and self.progress.stage != "rate_limited"

    @property
    def stage(self) -> Stage:
        """The stage to show. Once WaveSpeed accepted the task it starts it at once
        (``created`` turns ``processing`` within moments), but the client's first poll
        waits until just before the image should be ready, so "accepted" would stand for
        a 6 s job's whole life: it is shown as generating, with the elapsed time against
        the estimate. A poll that says the task still waits shows it queued."""
        stage = self.progress.stage if self.progress else "submitting"
        return "processing" if stage == "submitted" else stage

    def line(self) -> str:
        """What it is doing, with the elapsed time counted live (and, through a classroom
        gateway, the student's budget left)."""
        progress = self.progress or Progress("submitting", 0.0, self.request)
        live = dataclasses.replace(
            progress, stage=self.stage, elapsed=time.monotonic() - self.started
        )
        budget = self.budget()
        return f"{progress_text(live)} · seed {self.request.seed}" + (
            f" · {budget}" if budget else ""
        )

    def budget(self) -> str:
        """``class budget $1.992 left`` from the gateway's latest answer, else ``""``."""
        return budget_left_text(self.progress.prediction if self.progress else None)

    def item(self) -> dict[str, Any]:
        """The front end's progress bar for it."""
        return {
            "number": self.number,
            "stage": _STAGES.get(self.stage, self.stage),
            "elapsed": round(time.monotonic() - self.started, 2),
            "expected": self.expected,
            "seed": self.request.seed,
            "budget": self.budget(),
            "model": self.order.label,
            "text": self.line(),
        }


@dataclass(frozen=True)
class Outcome:
    """How something ended: a job's image (``tag`` "#N", the history's number), a job
    that failed (``tag`` "seed S") or a message (no tag)."""

    text: str
    kind: Kind
    tag: str = ""


class PanelStatusLine:
    """The outcomes of the current batch, rendered with the jobs still in flight."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []

    def set(self, text: str, kind: Kind) -> None:
        """Replace everything shown with one message."""
        self.outcomes = [Outcome(text, kind)]

    def add(self, text: str, kind: Kind, tag: str = "") -> None:
        """Add how one job (or request) ended, keeping the last few."""
        self.outcomes = [o for o in self.outcomes if o.text != text or o.tag != tag]
        self.outcomes = [*self.outcomes, Outcome(text, kind, tag)][-MAX_IN_FLIGHT:]

    def clear(self) -> None:
        """Forget past outcomes (a new batch starts, or the input changed)."""
        self.outcomes = []

    def clear_errors(self) -> None:
        """Forget notes about what was wrong (the input changed since)."""
        self.outcomes = [o for o in self.outcomes if o.kind not in ("error", "warn")]

    def render(
        self, jobs: Sequence[PanelJob], *, has_key: bool
    ) -> tuple[str, list[dict[str, str]]]:
        """The plain text and the front end's lines, from the outcomes and the jobs."""
        numbered = sum(bool(o.tag) for o in self.outcomes) + len(jobs) > 1
        lines: list[tuple[str, Kind]] = [
            (f"{o.tag} {o.text}" if numbered and o.tag else o.text, o.kind) for o in self.outcomes
        ]
        lines += [(j.line(), "busy") for j in jobs]  # each says its seed
        if len(jobs) >= MAX_IN_FLIGHT:
            lines.append((f"{MAX_IN_FLIGHT} in flight, the most at once.", "muted"))
        if not lines:
            lines = [(NO_KEY_TEXT, "warn")] if not has_key else [("Ready.", "muted")]
        return "\n".join(t for t, _ in lines), [{"text": t, "kind": k} for t, k in lines]


def cancelled_text(job: PanelJob, *, base_url: str) -> str:
    """What Cancel says for one job: stopped waiting, and whether it is still billed."""
    seed = job.request.seed
    if not job.accepted:
        return (
            f"Cancelled the image with seed {seed} before WaveSpeed accepted it: nothing is billed."
        )
    return (
        f"Stopped waiting for the image with seed {seed}; WaveSpeed already accepted it, so it "
        f"bills it ({price_text(job.order.model.reserve_mills / 1000, base_url)}) and it still "
        "arrives in your history."
    )


def connection_text(url: str, *, emulator: bool, has_key: bool) -> str:
    """Where images come from, in words: the emulator, WaveSpeed, or another host."""
    if emulator:
        where = "local emulator"
    elif url == DEFAULT_BASE_URL:
        where = "WaveSpeed API"
    elif urlsplit(url).path.startswith("/services/"):  # a JupyterHub service (_hub_connect)
        where = "through your class's gateway"
    else:
        where = f"API at {urlsplit(url).netloc or url}"
    return where if has_key else f"{where} · no key"


def spend_text(spend: Spend, *, session_wide: bool, base_url: str) -> str:
    """``This session: 3 images · $0.024 · 2 from your gallery, $0.016 saved (counts %klein
    too)``; what an emulator charged says ``simulated`` (`Spend.price`), as does the
    saving on one (`klein_widget.ui._text.price_text`)."""
    images = f"{spend.images} image{'s' if spend.images != 1 else ''}"
    extra = ""
    if spend.enhancements:
        plural = "s" if spend.enhancements != 1 else ""
        extra = f", {spend.enhancements} prompt enhancement{plural}"
    saved = ""
    if spend.reused:
        saved = f" · {spend.reused} from your gallery, {price_text(spend.saved, base_url)} saved"
    if spend.refunded:
        failed = "task" if spend.refunded == 1 else "tasks"
        saved += f" · {spend.refunded} failed {failed}, not counted (WaveSpeed refunds them)"
    where = "This session" if session_wide else "This panel's client"
    also = " (counts %klein too)" if session_wide else ""
    # The total as charged: what a local emulator "charged" is labelled simulated, apart
    # from anything WaveSpeed bills after a switch to a real key (`Spend.price`).
    return f"{where}: {images}{extra} · {spend.price}{saved}{also}"
