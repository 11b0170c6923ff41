"""The panel's status line, connection label and spend line.

The status shows how each generation of the current batch ended (so an error is not
hidden by a later success) and, live, each one still in flight. The words themselves
come from `klein_widget.ui._text`, shared with ``%klein`` and the CLI.

Example:
    >>> status = PanelStatusLine()  # doctest: +SKIP
    >>> status.add("Done in 0.7 s · seed 42", "ok", job=1)  # doctest: +SKIP
    >>> status.render([], limit=4, has_key=True)  # doctest: +SKIP
    'Done in 0.7 s · seed 42'
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import ipywidgets as w

from klein_widget.client._config import DEFAULT_BASE_URL
from klein_widget.client._generation import Generation
from klein_widget.client._ledger import Spend
from klein_widget.client._models import PRICE_PER_IMAGE, GenerationRequest
from klein_widget.client._run import Progress
from klein_widget.ui._text import price_text, progress_text
from klein_widget.widget._style import Kind, escape, line

NO_KEY_HTML = (
    "No WaveSpeed API key yet. Set the <code>WAVESPEED_API_KEY</code> environment variable, "
    "or run <code>klein_widget.set_api_key()</code> in a cell (it asks without echo); or try "
    "everything offline with <code>klein_widget.use_emulator()</code>."
)
NO_KEY_TEXT = (
    "No WaveSpeed API key yet: set WAVESPEED_API_KEY, run klein_widget.set_api_key(), "
    "or klein_widget.use_emulator()."
)


@dataclass
class PanelJob:
    """One generation in flight."""

    number: int
    request: GenerationRequest
    started: float = dataclasses.field(default_factory=time.monotonic)
    progress: Progress | None = None
    task: asyncio.Task[Generation | None] | None = None

    def line(self) -> str:
        """What it is doing, with the elapsed time counted live."""
        progress = self.progress or Progress("submitting", 0.0, self.request)
        live = dataclasses.replace(progress, elapsed=time.monotonic() - self.started)
        return f"{progress_text(live)} · seed {self.request.seed}"


@dataclass(frozen=True)
class Outcome:
    """How something ended: a finished job (``job`` set) or a message."""

    text: str
    kind: Kind
    job: int | None = None


class PanelStatusLine:
    """An HTML line (or a few) under the Generate button, and its plain text."""

    def __init__(self, keep: int = 4) -> None:
        self.html = w.HTML(layout=w.Layout(flex="1 1 0%", margin="0 0 0 10px"))
        self.outcomes: list[Outcome] = []
        self._keep = keep

    def set(self, text: str, kind: Kind) -> None:
        """Replace everything shown with one message."""
        self.outcomes = [Outcome(text, kind)]

    def add(self, text: str, kind: Kind, job: int | None = None) -> None:
        """Add how one job (or request) ended, keeping the last few."""
        self.outcomes = [o for o in self.outcomes if o.text != text or o.job != job]
        self.outcomes = [*self.outcomes, Outcome(text, kind, job)][-self._keep :]

    def clear(self) -> None:
        """Forget past outcomes (a new batch starts)."""
        self.outcomes = []

    def render(self, jobs: Sequence[PanelJob], *, limit: int, has_key: bool) -> str:
        """Redraw from the outcomes and the jobs in flight; returns the plain text."""
        numbered = sum(o.job is not None for o in self.outcomes) + len(jobs) > 1
        lines = [
            (f"#{o.job} {o.text}" if numbered and o.job is not None else o.text, o.kind)
            for o in self.outcomes
        ]
        lines += [(f"#{j.number} {j.line()}" if numbered else j.line(), "busy") for j in jobs]
        if len(jobs) >= limit:
            lines.append((f"{limit} in flight, the most at once.", "muted"))
        if not lines and not has_key:
            self.html.value = line(NO_KEY_HTML, kind="warn")
            return NO_KEY_TEXT
        if not lines:
            self.html.value = line("Ready.", kind="muted", mark=False)
            return "Ready."
        self.html.value = "".join(line(escape(text), kind=kind) for text, kind in lines)
        return "\n".join(text for text, _ in lines)


def cancelled_text(jobs: Sequence[PanelJob], *, base_url: str) -> str:
    """What Cancel says: which tasks it stopped waiting for, and that they are billed."""
    ids = [j.progress.task_id for j in jobs if j.progress and j.progress.task_id]
    tasks = f" (task {', '.join(ids[:2])}{'…' if len(ids) > 2 else ''})" if ids else ""
    noun = "image" if len(jobs) == 1 else f"{len(jobs)} images"
    return (
        f"Cancelled: stopped waiting for the {noun}{tasks}. WaveSpeed still finishes "
        f"what it accepted and bills it (an image: {price_text(PRICE_PER_IMAGE, base_url)})."
    )


def connection_text(url: str, *, emulator: bool, has_key: bool) -> str:
    """Where images come from, as HTML: the emulator, WaveSpeed, or another host."""
    if emulator:
        where = "local emulator"
    elif url == DEFAULT_BASE_URL:
        where = "WaveSpeed API"
    else:
        where = f"API at {escape(urlsplit(url).netloc or url)}"
    if has_key:
        return where
    return f'{where} · <span style="color: var(--jp-warn-color1, #e65100)">no key</span>'


def spend_text(spend: Spend, *, session_wide: bool, base_url: str) -> str:
    """``This session: 3 images · $0.024 (counts %klein too)``; ``$0.024 simulated`` when
    ``base_url`` is a local emulator (`klein_widget.ui._text.price_text`)."""
    images = f"{spend.images} image{'s' if spend.images != 1 else ''}"
    extra = ""
    if spend.enhancements:
        plural = "s" if spend.enhancements != 1 else ""
        extra = f", {spend.enhancements} prompt enhancement{plural}"
    where = "This session" if session_wide else "This panel's client"
    also = " (counts %klein too)" if session_wide else ""
    return f"{where}: {images}{extra} · {price_text(spend.dollars, base_url)}{also}"
