"""The panel's "Enhance prompt": WaveSpeed's prompt optimizer, with before/after and undo.

Its progress, result and errors show in its own note beside the button, so they never
hide how a generation ended.

Example:
    >>> enhancer = Enhancer(controls, get_client, on_change)  # doctest: +SKIP
    >>> new_prompt = await enhancer.start()  # doctest: +SKIP
    >>> enhancer.undo()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import missing_key_error
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import PRICE_PER_ENHANCE_MILLS, check_prompt
from klein_widget.ui._text import error_text, price_text
from klein_widget.widget._controls import Controls
from klein_widget.widget._jobs import NO_LOOP, spawn
from klein_widget.widget._style import Kind, escape, line, small


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Enhancer:
    """Runs one enhancement at a time and remembers the prompt before it, for Undo."""

    def __init__(
        self,
        controls: Controls,
        get_client: Callable[[], AsyncKleinClient],
        on_change: Callable[[], None],
    ) -> None:
        self._controls = controls
        self._get_client = get_client
        self._on_change = on_change
        self.task: asyncio.Task[str | None] | None = None
        self.before: str | None = None
        self.text = ""  # the note as plain text
        controls.enhance.on_click(lambda _b: self.start())
        controls.undo.on_click(lambda _b: self.undo())

    def start(self) -> asyncio.Task[str | None] | None:
        """Enhance the prompt in the box; returns the task, or None if nothing was sent."""
        if self.task is not None:
            return None
        try:
            before = check_prompt(self._controls.prompt.value)
        except InvalidRequestError as error:
            self._note(error_text(error), "error")
            return None
        client = self._get_client()
        if client.key_missing:
            self._note(error_text(missing_key_error()), "error")
            return None
        self.task = spawn(self._run(client, before))
        if self.task is None:
            self._note(NO_LOOP, "error")
            return None
        self.task.add_done_callback(lambda _t: self._over())
        self._controls.enhance.disabled = True
        self._note("Enhancing the prompt…", "busy")
        self._on_change()
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
        self._controls.prompt.value, self.before = self.before, None
        self._controls.undo.disabled = True
        self._note("Back to your prompt.", "muted")

    async def _run(self, client: AsyncKleinClient, before: str) -> str | None:
        try:
            after = await client.enhance_prompt(before)
        except Exception as error:
            self._note(error_text(error), "error")
            return None
        self.before = before
        self._controls.prompt.value = after
        self._controls.undo.disabled = False
        cost = price_text(PRICE_PER_ENHANCE_MILLS / 1000, client.base_url)
        self.text = f"Prompt enhanced ({cost}). Before: {before}\nAfter: {after}"
        self._controls.enhance_note.value = small(
            f"<b>Before:</b> {escape(_clip(before))}<br><b>After:</b> {escape(_clip(after))}"
            f" <i>({cost}; edit it, or Undo)</i>"
        )
        return after

    def _over(self) -> None:
        self.task = None
        self._controls.enhance.disabled = False
        self._on_change()

    def _note(self, text: str, kind: Kind) -> None:
        self.text = text
        self._controls.enhance_note.value = line(escape(text), kind=kind)
