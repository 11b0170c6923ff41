"""The panel's "Enhance prompt": WaveSpeed's prompt optimizer, with before/after and undo.

Its progress, result and errors show in its own note (the panel's ``enhance_note``
trait), so they never hide how a generation ended.

Example:
    >>> enhancer = Enhancer(panel, get_client, on_change)  # doctest: +SKIP
    >>> new_prompt = await enhancer.start()  # doctest: +SKIP
    >>> enhancer.undo()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import missing_key_error
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import PRICE_PER_ENHANCE_MILLS, check_prompt
from klein_widget.ui._text import error_text, price_text
from klein_widget.widget._jobs import NO_LOOP, spawn


class EnhanceHost(Protocol):
    """What the enhancer reads and writes on the panel (its synced traits)."""

    prompt: str
    enhance_note: str
    enhance_kind: str
    enhancing: bool
    can_undo: bool


class Enhancer:
    """Runs one enhancement at a time and remembers the prompt before it, for Undo."""

    def __init__(
        self,
        host: EnhanceHost,
        get_client: Callable[[], AsyncKleinClient],
        on_change: Callable[[], None],
    ) -> None:
        self._host = host
        self._get_client = get_client
        self._on_change = on_change
        self.task: asyncio.Task[str | None] | None = None
        self.before: str | None = None
        self.text = ""  # the note as plain text

    def start(self) -> asyncio.Task[str | None] | None:
        """Enhance the prompt in the box; returns the task, or None if nothing was sent."""
        if self.task is not None:
            return None
        try:
            before = check_prompt(self._host.prompt)
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
        self._host.enhancing = True
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
        self._host.prompt, self.before = self.before, None
        self._host.can_undo = False
        self._note("Back to your prompt.", "muted")

    async def _run(self, client: AsyncKleinClient, before: str) -> str | None:
        try:
            after = await client.enhance_prompt(before)
        except Exception as error:
            self._note(error_text(error), "error")
            return None
        self.before = before
        self._host.prompt = after
        self._host.can_undo = True
        cost = price_text(PRICE_PER_ENHANCE_MILLS / 1000, client.base_url)
        self._note(f"Prompt enhanced ({cost}). Before: {before}\nAfter: {after}", "ok")
        return after

    def _over(self) -> None:
        self.task = None
        self._host.enhancing = False
        self._on_change()

    def _note(self, text: str, kind: str) -> None:
        self.text = text
        self._host.enhance_note, self._host.enhance_kind = text, kind
