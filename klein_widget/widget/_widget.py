"""`KleinPanel`: make an image from a prompt in one click, watch it happen, get its code.

Built from core ipywidgets 8 only (JupyterLab 4, Notebook 7, Voila, VS Code, Colab).
Work runs as tasks on the kernel's event loop, so the kernel never blocks: other cells
run meanwhile and up to `MAX_IN_FLIGHT` images can be in flight. The pieces, all in
``klein_widget.widget``: `_controls` (inputs), `_fields` (their Python properties),
`_frame` (title, Generate / Cancel, spend), `_jobs` (tasks in flight), `_enhance` (prompt
optimizer), `_status` (status, connection and spend text), `_result` (image and
snippets), `_history` (thumbnails), `_style` (look).

Example:
    >>> import klein_widget
    >>> panel = klein_widget.panel(prompt="a red fox", width=768, height=512)  # doctest: +SKIP
    >>> panel  # doctest: +SKIP
    >>> gen = await panel.generate()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio

import ipywidgets as w
from traitlets import Int, Unicode, observe

from klein_widget._session import session
from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import missing_key_error
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._generation import Generation
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED
from klein_widget.ui._text import error_text
from klein_widget.widget._controls import Controls
from klein_widget.widget._enhance import Enhancer
from klein_widget.widget._fields import PanelFields
from klein_widget.widget._frame import PanelFrame
from klein_widget.widget._history import LIMIT, HistoryEntry, HistoryStrip, _close_tree
from klein_widget.widget._jobs import NO_LOOP, Jobs, running_loop
from klein_widget.widget._result import ResultView
from klein_widget.widget._status import PanelJob, PanelStatusLine, cancelled_text
from klein_widget.widget._style import Kind

__all__ = ["MAX_IN_FLIGHT", "KleinPanel", "panel"]

MAX_IN_FLIGHT = 4  # generations at once; WaveSpeed's lowest tier runs 2 and queues the rest


class KleinPanel(PanelFields, w.VBox):  # type: ignore[misc]
    """The interactive image panel.

    ``client`` defaults to the session's shared async client
    (``klein_widget.session().async_client()``, looked up at each click so
    ``set_api_key()`` and ``use_emulator()`` take effect at once).

    Example:
        >>> panel = KleinPanel(prompt="a lighthouse at dusk", seed=42)  # doctest: +SKIP
        >>> panel.width = 768  # doctest: +SKIP
        >>> task = panel.generate()  # an asyncio.Task; the panel shows progress  # doctest: +SKIP
        >>> (await task).seed  # doctest: +SKIP
        42
    """

    running = Int(0, help="Generations in flight.")
    status = Unicode("", help="The status line, as plain text.")

    def __init__(
        self,
        client: AsyncKleinClient | None = None,
        *,
        prompt: str = "",
        width: int = DEFAULT_SIDE,
        height: int = DEFAULT_SIDE,
        seed: int = RANDOM_SEED,
    ) -> None:
        self._client = client
        self.controls = Controls(prompt=prompt, width=width, height=height, seed=seed)
        self.result = ResultView()
        self.history_strip = HistoryStrip(on_select=self.restore)
        self.status_line = PanelStatusLine(keep=MAX_IN_FLIGHT)
        self.status_html = self.status_line.html
        self.frame = PanelFrame(self.status_html)
        self.generate_button = self.frame.generate_button
        self.cancel_button = self.frame.cancel_button
        self.connection_html = self.frame.connection_html
        self.spend_html = self.frame.spend_html
        super().__init__(
            [
                self.frame.header,
                *self.controls.rows(),
                self.frame.actions,
                self.result.box,
                self.history_strip.box,
                self.spend_html,
            ],
            layout=self.frame.outline(),
        )
        self.add_class("klein-panel")
        self.last: Generation | None = None
        self._loop = running_loop()
        self.jobs = Jobs(
            limit=MAX_IN_FLIGHT, on_change=self._render, on_done=self._done, on_failed=self._failed
        )
        self.enhancer = Enhancer(self.controls, lambda: self.client, on_change=self._render)
        self.generate_button.on_click(lambda _b: self.generate())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.controls.reuse_seed.on_click(lambda _b: self.reuse_seed())
        for generation in list(session().history)[-LIMIT:]:
            self.history_strip.add(generation, base_url=session().base_url)
        self._unsubscribe = session().subscribe(self._on_session_image)
        self._unwatch = session().watch(self._render)  # set_api_key() elsewhere: redraw
        self._render()

    # --- Python-level access (also prompt, width, height, seed: PanelFields) -----------

    @property
    def client(self) -> AsyncKleinClient:
        """The client used for the next click (the session's unless one was given)."""
        return self._client if self._client is not None else session().async_client()

    @property
    def tasks(self) -> list[asyncio.Task[Generation | None]]:
        """The generations in flight."""
        return [job.task for job in self.jobs.active if job.task is not None]

    def __repr__(self) -> str:
        prompt = self.prompt if len(self.prompt) <= 40 else self.prompt[:39] + "…"
        return (
            f"KleinPanel(prompt={prompt!r}, size={self.width}x{self.height}, seed={self.seed}, "
            f"running={self.running}, images={len(self.history_strip.entries)})"
        )

    # --- actions -----------------------------------------------------------------------

    def generate(self) -> asyncio.Task[Generation | None] | None:
        """Start one generation from the controls; returns its task, or None if nothing
        could be sent (the status says why). The task's result is the `Generation`, or
        None if it failed (the status says why)."""
        try:
            request = self.controls.request()
        except InvalidRequestError as error:
            self._refuse(error_text(error))
            return None
        if self.jobs.full:
            self._refuse(
                f"{MAX_IN_FLIGHT} images are already in flight, the most at once: wait for "
                "one to finish, or Cancel.",
                "warn",
            )
            return None
        client = self.client
        if client.key_missing:
            self._refuse(error_text(missing_key_error()))
            return None
        if not self.jobs.active:
            self.status_line.clear()  # a new batch: past outcomes go
        self._loop = self._loop or running_loop()
        task = self.jobs.start(request, client)
        if task is None:
            self._refuse(NO_LOOP)
            return None
        return task

    def cancel(self) -> int:
        """Stop waiting for everything in flight; returns how many images were cancelled.

        The server still finishes tasks it accepted, and bills them.
        """
        jobs = self.jobs.cancel()
        self.enhancer.cancel()
        if jobs:
            self.status_line.set(cancelled_text(jobs, base_url=self.client.base_url), "warn")
            self._render()
        return len(jobs)

    def enhance(self) -> asyncio.Task[str | None] | None:
        """Rewrite the prompt with the prompt optimizer; returns the task (result: the new
        prompt, or None on error; the note beside the button says what happened)."""
        return self.enhancer.start()

    def undo_enhance(self) -> None:
        """Put back the prompt from before the last enhancement."""
        self.enhancer.undo()

    def reuse_seed(self) -> None:
        """Set the seed to the one of the image shown."""
        if self.result.request is not None:
            self.seed = self.result.request.seed

    def restore(self, entry: HistoryEntry | int) -> None:
        """Show a history entry (or its index, 0 = newest) and put its prompt, size and
        seed back into the controls."""
        if isinstance(entry, int):
            entry = self.history_strip.entries[entry]
        request = entry.request
        self.prompt = request.prompt
        self.controls.width.value, self.controls.height.value = request.width, request.height
        self.seed = request.seed
        image, fmt, note = entry.image(), entry.format, ""
        if image is None:  # evicted from memory and not on disk: the thumbnail stands in
            image, fmt, note = entry.thumbnail, "jpeg", " (only its thumbnail is still kept)"
        self.result.show(request, image, fmt, nsfw=entry.nsfw, base_url=entry.base_url)
        self.history_strip.mark_current(entry)
        self.controls.reuse_seed.disabled = False
        size = f"{request.width}\u00d7{request.height}"
        self.status_line.set(
            f"Restored image #{entry.number}{note}: seed {request.seed} · {size}", "info"
        )
        self._render()

    def close(self) -> None:
        """Stop waiting for work in flight, unsubscribe, and close every widget."""
        if not hasattr(self, "_unsubscribe"):  # __init__ failed: only the base is set up
            super().close()
            return
        self._unsubscribe()
        self._unwatch()
        self.jobs.cancel()
        if self.enhancer.task is not None:
            self.enhancer.task.cancel()
        self.history_strip.close()
        for child in self.children:
            _close_tree(child)
        super().close()

    # --- results -----------------------------------------------------------------------

    def _done(self, job: PanelJob, generation: Generation, client: AsyncKleinClient) -> None:
        self.last = generation
        entry = self.history_strip.add(generation, base_url=client.base_url)
        self._show(entry, generation.image)
        self.status_line.add(entry.done, "ok", job.number)

    def _failed(self, job: PanelJob, error: Exception) -> None:
        self.status_line.add(error_text(error), "error", job.number)

    def _show(self, entry: HistoryEntry, image: bytes) -> None:
        self.result.show(
            entry.request, image, entry.format, nsfw=entry.nsfw, base_url=entry.base_url
        )
        self.history_strip.mark_current(entry)
        self.controls.reuse_seed.disabled = False

    def _on_session_image(self, generation: Generation) -> None:
        # Called by whoever made the image (%klein, another panel), maybe on another thread.
        loop = self._loop
        if loop is None or loop.is_closed() or running_loop() is loop:
            self._add_external(generation)
        else:
            loop.call_soon_threadsafe(self._add_external, generation)

    def _add_external(self, generation: Generation) -> None:
        self.history_strip.add(generation, base_url=session().base_url)
        self._render()

    # --- status -------------------------------------------------------------------------

    def _refuse(self, text: str, kind: Kind = "error") -> None:
        """Say why nothing was sent (kept beside the outcomes of jobs still running)."""
        self.status_line.add(text, kind)
        self._render()

    @observe("running")
    def _running_changed(self, _change: object) -> None:
        self.generate_button.disabled = self.running >= MAX_IN_FLIGHT

    def _render(self) -> None:
        """Redraw the status, connection and spend lines from the current state."""
        jobs = self.jobs.active if hasattr(self, "jobs") else []
        has_key = self.frame.has_key(self._client)
        self.status = self.status_line.render(jobs, limit=MAX_IN_FLIGHT, has_key=has_key)
        self.running = len(jobs)
        self.cancel_button.disabled = not jobs and self.enhancer_task is None
        self.frame.redraw(self._client)

    @property
    def enhancer_task(self) -> asyncio.Task[str | None] | None:
        """The prompt enhancement in flight, if any."""
        enhancer: Enhancer | None = getattr(self, "enhancer", None)
        return enhancer.task if enhancer is not None else None


def panel(
    client: AsyncKleinClient | None = None,
    *,
    prompt: str = "",
    width: int = DEFAULT_SIDE,
    height: int = DEFAULT_SIDE,
    seed: int = RANDOM_SEED,
) -> KleinPanel:
    """A new `KleinPanel` (display it by leaving it last in a cell).

    Example:
        >>> klein_widget.panel(prompt="a red fox", width=768, height=512)  # doctest: +SKIP
    """
    return KleinPanel(client, prompt=prompt, width=width, height=height, seed=seed)
