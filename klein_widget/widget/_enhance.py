"""The panel's "Enhance prompt": WaveSpeed's prompt optimizer, with before/after and undo.

Its progress, result and errors show in its own note (the panel's ``enhance_note``,
``enhance_kind``, ``enhancing`` and ``can_undo`` traits), so they never hide how a
generation ended.

Example:
    >>> enhancer = Enhancer(panel)  # doctest: +SKIP
    >>> new_prompt = await enhancer.start()  # doctest: +SKIP
    >>> enhancer.undo()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import missing_key_error
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import PRICE_PER_ENHANCE_MILLS, check_prompt
from klein_widget.ui._text import error_text, price_text
from klein_widget.widget._jobs import NO_LOOP, spawn

if TYPE_CHECKING:
    from klein_widget.widget._widget import KleinPanel


class Enhancer:
    """Runs one enhancement at a time and remembers the prompt before it, for Undo."""

    def __init__(self, panel: KleinPanel) -> None:
        self._panel = panel
        self.task: asyncio.Task[str | None] | None = None
        self.before: str | None = None
        self.text = ""  # the note as plain text

    def start(self) -> asyncio.Task[str | None] | None:
        """Enhance the prompt in the box; returns the task, or None if nothing was sent."""
        if self.task is not None:
            return None
        try:
            before = check_prompt(self._panel.prompt)
        except InvalidRequestError as error:
            self._note(error_text(error), "error")
            return None
        client = self._panel.client
        if client.key_missing:
            self._note(error_text(missing_key_error()), "error")
            return None
        self.task = spawn(self._run(client, before))
        if self.task is None:
            self._note(NO_LOOP, "error")
            return None
        self.task.add_done_callback(lambda _t: self._over())
        self._panel.enhancing = True
        self._note("Enhancing the prompt…", "busy")
        self._panel.refresh()
        return self.task

    def cancel(self) -> None:
        """Stop waiting for the enhancement."""
        if self.task is not None:
            self.task.cancel()
            self._note("Enhancement cancelled; the prompt is unchanged.", "warn")

    def undo(self) -> None:
        """Put back the prompt from before the last enhancement."""
        if self.before is None:
            return
        self._panel.prompt, self.before = self.before, None
        self._panel.can_undo = False
        self._note("Back to your prompt.", "muted")

    async def _run(self, client: AsyncKleinClient, before: str) -> str | None:
        try:
            after = await client.enhance_prompt(before)
        except Exception as error:
            self._note(error_text(error), "error")
            return None
        self.before = before
        self._panel.prompt = after
        self._panel.can_undo = True
        cost = price_text(PRICE_PER_ENHANCE_MILLS / 1000, client.base_url)
        self._note(f"Prompt enhanced ({cost}). Before: {before}\nAfter: {after}", "ok")
        return after

    def _over(self) -> None:
        self.task = None
        self._panel.enhancing = False
        self._panel.refresh()

    def _note(self, text: str, kind: str) -> None:
        self.text = text
        self._panel.enhance_note, self._panel.enhance_kind = text, kind
