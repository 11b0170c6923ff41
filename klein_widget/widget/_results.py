"""How a finished job lands in the panel: its image in the history, the image shown,
the status; and images made elsewhere in the session (``%klein``, another panel).

A mixin of `klein_widget.widget._widget.KleinPanel`, apart so that module stays short.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from klein_widget._session import session
from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._generation import Generation
from klein_widget.client._models import RANDOM_SEED, GenerationRequest
from klein_widget.ui._text import done_text, short_error_text
from klein_widget.widget._jobs import running_loop
from klein_widget.widget._order import PanelOrder
from klein_widget.widget._status import PanelJob

if TYPE_CHECKING:
    from klein_widget.widget._edits import EditControls
    from klein_widget.widget._history import HistoryEntry, PanelHistory
    from klein_widget.widget._show import Shower
    from klein_widget.widget._status import PanelStatusLine
    from klein_widget.widget._times import GenerationTimes

__all__ = ["PanelResults"]


class PanelResults:
    """The result handlers of `KleinPanel` (its attributes are declared here for mypy)."""

    last: Generation | None
    status_line: PanelStatusLine
    shower: Shower
    edits: EditControls
    times: GenerationTimes
    _history: PanelHistory
    _loop: asyncio.AbstractEventLoop | None
    _retry: tuple[GenerationRequest, PanelOrder] | None
    can_retry: bool
    image_stale: bool
    image: bytes

    if TYPE_CHECKING:

        def refresh(self) -> None: ...

    def _done(self, job: PanelJob, generation: Generation, client: AsyncKleinClient) -> None:
        entry = self._add(generation, client.base_url)
        self.edits.remember(generation.task_id, job.order)
        self.shower.sent_thumbnail(entry)
        if job.detached:  # the user stopped waiting: it joins the history quietly
            self.status_line.add(
                f"Image #{entry.number} (seed {generation.seed}) arrived: it is in the history.",
                "muted",
            )
            return
        self.last = generation
        done = done_text(generation, base_url=client.base_url)
        self.shower.show_entry(entry, generation, done=done)
        self.status_line.add(done, "ok", f"#{entry.number}")

    def _failed(self, job: PanelJob, error: Exception) -> None:
        if job.detached:
            return
        text = short_error_text(error)
        if job.asked.seed == RANDOM_SEED:  # Retry draws a new seed: nothing to change
            text = text.replace(": Retry, or change the seed.", ": Retry (with a new random seed).")
        self.status_line.add(text, "error", f"seed {job.request.seed}")
        self._retry, self.can_retry = (job.asked, job.order), True
        self.image_stale = bool(self.image)

    def _on_session_image(self, generation: Generation) -> None:
        # Called by whoever made the image (%klein, another panel), maybe on another thread.
        loop = self._loop
        if loop is None or loop.is_closed() or running_loop() is loop:
            self._add_external(generation)
        else:
            loop.call_soon_threadsafe(self._add_external, generation)

    def _add(self, generation: Generation, base_url: str) -> HistoryEntry:
        """Add to the history; a new image also teaches how long images take (once,
        whether it comes from this panel or from elsewhere in the session)."""
        if self._history.find(generation.task_id) is None:
            self.times.learn_from(generation)
        return self._history.add(generation, base_url=base_url)

    def _add_external(self, generation: Generation) -> None:
        entry = self._add(generation, session().base_url)
        self.shower.sent_thumbnail(entry)
        self.refresh()
