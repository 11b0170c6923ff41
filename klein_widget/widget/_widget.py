"""`KleinPanel`: make an image from a prompt in one click, watch it happen, get its code.

One anywidget (`klein_widget.widget._state.PanelState`: synced traits, panel.js and
panel.css). Work runs as tasks on the kernel's event loop, so the kernel never blocks:
other cells run meanwhile and up to `MAX_IN_FLIGHT` images can be in flight. The front
end sends small messages (``{"type": "generate"}``...) that call the methods below.
The pieces, all in ``klein_widget.widget``: `_state` (traits), `_jobs` (tasks in flight),
`_enhance` (prompt optimizer), `_status` (words), `_history` (thumbnails, how long images
take), `_show`, `_edits` (model, mode, references), `_fallback` (the static copy for saved
notebooks). Finished jobs, and images made elsewhere in the session, land here.

Example:
    >>> import klein_widget
    >>> panel = klein_widget.panel(prompt="a red fox", width=768, height=512)  # doctest: +SKIP
    >>> panel  # doctest: +SKIP
    >>> gen = await panel.generate()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from traitlets import observe

from klein_widget._session import session
from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import missing_key_error
from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._generation import Generation
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest
from klein_widget.ui._text import done_text, error_text, short_error_text
from klein_widget.widget._edits import EditControls
from klein_widget.widget._enhance import Enhancer
from klein_widget.widget._history import HistoryEntry, PanelHistory
from klein_widget.widget._jobs import NO_LOOP, Jobs, call_home, running_loop
from klein_widget.widget._messages import handle_message
from klein_widget.widget._order import PanelOrder
from klein_widget.widget._show import Shower
from klein_widget.widget._state import PanelState
from klein_widget.widget._status import Kind, PanelJob, PanelStatusLine, cancelled_text

__all__ = ["MAX_IN_FLIGHT", "KleinPanel", "panel"]


class KleinPanel(PanelState):
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
        # The helpers exist before the traits are set: the observers below may use them.
        self.status_line = PanelStatusLine()
        self._history = PanelHistory()
        self.jobs = Jobs(
            on_change=self.refresh,
            on_done=self._done,
            on_failed=self._failed,
            expected=self._history.expected,
        )
        self.enhancer = Enhancer(self)
        self.shower = Shower(self, self._history)
        self.edits = EditControls(self)  # the model picker, the mode, the reference tray
        super().__init__(prompt=prompt, width=width, height=height, seed=seed)
        self.last: Generation | None = None
        self._loop = running_loop()
        self._retry: tuple[GenerationRequest, PanelOrder] | None = None
        # Filled from the gallery (else the session's images) a few at a time on the
        # kernel's loop, so the panel shows at once; this task (None: done) says when.
        gallery = session().gallery if client is None else None
        self.history_loaded = self._history.start(
            self._history.sources(gallery, recent=list(session().history)),
            base_url=session().base_url if client is None else self.client.base_url,
            loop=self._loop,
            on_step=self.shower.send_thumbnails,
            on_done=self.shower.sync_items,
        )
        self.on_msg(lambda _w, content, buffers: handle_message(self, content, buffers))
        # Images made elsewhere (%klein, another panel), maybe handed over on another thread.
        self._unsubscribe = session().subscribe(
            lambda generation: call_home(self._loop, self._add_external, generation)
        )
        self._unwatch = session().watch(self.refresh)  # set_api_key() elsewhere: redraw
        self.edits.sync()  # also refreshes

    # --- Python-level access -------------------------------------------------------------

    @property
    def client(self) -> AsyncKleinClient:
        """The client used for the next click (the session's unless one was given)."""
        return self._client if self._client is not None else session().async_client()

    @property
    def tasks(self) -> list[asyncio.Task[Generation | None]]:
        """The generations in flight (those the panel still waits for)."""
        return [job.task for job in self.jobs.active if job.task is not None]

    @property
    def home_loop(self) -> asyncio.AbstractEventLoop | None:
        """The kernel's loop the panel was made on: its tasks run there."""
        return self._loop

    @property
    def history(self) -> list[HistoryEntry]:
        """The images in the history, newest first."""
        return self._history.entries

    def __repr__(self) -> str:
        prompt = self.prompt if len(self.prompt) <= 40 else self.prompt[:39] + "…"
        return (
            f"KleinPanel(prompt={prompt!r}, size={self.width}x{self.height}, seed={self.seed}, "
            f"running={self.running}, images={len(self._history.entries)})"
        )

    # --- actions -------------------------------------------------------------------------

    def generate(
        self, request: GenerationRequest | None = None, order: PanelOrder | None = None
    ) -> asyncio.Task[Generation | None] | None:
        """Start one generation, or an edit in edit mode (from the fields, the model
        picker and the tray unless ``request``/``order`` are given); returns its task, or
        None if nothing could be sent (the status says why). The task's result is the
        `Generation`, or None if it failed (the status says why)."""
        client = self.client
        try:
            request = request or GenerationRequest(self.prompt, self.width, self.height, self.seed)
        except InvalidRequestError as error:
            refusal = error_text(error)
        else:
            refusal = error_text(missing_key_error()) if client.key_missing else ""
        refusal = refusal or ("" if order is not None else self.edits.refusal())
        if self.jobs.full:
            refusal = (
                f"{MAX_IN_FLIGHT} images are already in flight, the most at once: wait for "
                "one to finish, or Cancel one."
            )
        if refusal or request is None:
            self._refuse(refusal, "warn" if self.jobs.full else "error")
            return None
        if not self.jobs.active:
            self.status_line.clear()  # a new batch: past outcomes go
        self.can_retry, self._retry = False, None
        self._loop = self._loop or running_loop()
        task = self.jobs.start(request, client, fresh=self.fresh, order=order or self.edits.order())
        if task is None:
            self._refuse(NO_LOOP)
        return task

    def retry(self) -> asyncio.Task[Generation | None] | None:
        """Send again the request that failed last (its seed as the user set it)."""
        return self.generate(*self._retry) if self._retry is not None else None

    def cancel(self, number: int | None = None) -> int:
        """Stop waiting for job ``number`` (default: the newest); returns how many jobs
        stopped. A job WaveSpeed may have accepted still finishes in the background and
        lands in the gallery and the history (it is billed); one not yet sent is not."""
        active = self.jobs.active
        job = self.jobs.get(number) if number is not None else (active[-1] if active else None)
        if job is None:
            self.enhancer.cancel()  # if one runs
            return 0
        self.jobs.cancel(job)
        self.status_line.add(cancelled_text(job, base_url=self.client.base_url), "warn")
        self.refresh()
        return 1

    def enhance(self) -> asyncio.Task[str | None] | None:
        """Rewrite the prompt with the prompt optimizer; returns the task (result: the new
        prompt, or None on error; ``enhance_note`` says what happened)."""
        return self.enhancer.start()

    def undo_enhance(self) -> None:
        """Put back the prompt from before the last enhancement."""
        self.enhancer.undo()

    def restore(self, entry: HistoryEntry | int | str) -> None:
        """Show a history entry (or its index, 0 = newest, or its task id) and put its
        prompt, size and seed back; the seed is then fixed (say ``seed = -1`` for random)."""
        if isinstance(entry, int):
            entry = self._history.entries[entry]
        shown = self._history.find(entry) if isinstance(entry, str) else entry
        if shown is None:  # a task id no longer in the history
            return
        r = shown.request
        edit = self.edits.restore(shown)  # mode, model and references
        self.prompt, self.seed = r.prompt, r.seed
        if not (edit and self.size_as_reference) and shown.size[0]:
            self.width, self.height = shown.size
        note = self.shower.show_entry(shown)
        w, h = shown.size
        self.seed_restored = True
        self.status_line.set(
            f"Restored image #{shown.number}{note} ({w}\u00d7{h}): seed {r.seed} "
            "is now fixed, so Generate repeats it; Back to random for new ones.",
            "info",
        )
        self.refresh()

    def load(self, params: Mapping[str, Any]) -> None:
        """Set the panel from an image's parameters, e.g. ``panel.load(klein_widget.
        load_params("fox.png"))``: an edit comes back in edit mode, with its references."""
        self.edits.load(params)

    def close(self) -> None:
        """Stop every task, unsubscribe, and close the widget."""
        if hasattr(self, "_unsubscribe"):  # else __init__ failed: only the base is set up
            self._unsubscribe()
            self._unwatch()
            self.jobs.stop_all()
            if self.history_loaded is not None:
                self.history_loaded.cancel()
            if self.enhancer.task is not None:
                self.enhancer.task.cancel()
        super().close()

    # --- results ---------------------------------------------------------------------------

    def _done(self, job: PanelJob, generation: Generation, client: AsyncKleinClient) -> None:
        entry = self._history.add(generation, base_url=client.base_url)
        if job.order.edit:
            entry.made_by = job.order
        self.shower.send_thumbnails([entry])
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

    def _add_external(self, generation: Generation) -> None:
        entry = self._history.add(generation, base_url=session().base_url)
        self.shower.send_thumbnails([entry])
        self.refresh()

    # --- status ----------------------------------------------------------------------------

    def _refuse(self, text: str, kind: Kind = "error") -> None:
        """Say why nothing was sent (kept beside the outcomes of jobs still running)."""
        self.status_line.add(text, kind)
        self.refresh()

    @observe("prompt", "width", "height", "seed", "mode", "klein_model")
    def _input_changed(self, change: dict[str, Any]) -> None:
        if change["name"] in ("mode", "klein_model"):
            self.edits.sync()  # image 1's size in edit mode; the model line
        elif change["name"] in ("width", "height") and self.mode == "edit":
            self.size_as_reference = self.size_as_reference and self.edits.sizing
        if not self.jobs.active and any(o.kind == "error" for o in self.status_line.outcomes):
            self.status_line.clear_errors()  # a stale note about the old input goes
            self.refresh()

    def refresh(self) -> None:
        """Redraw status, progress, connection and spend from the current state."""
        self.shower.redraw_frame(self._client)  # also sets key_missing
        self.edits.draw_model()  # "simulated" follows the client's URL
        active = self.jobs.active
        self.status, self.status_lines = self.status_line.render(
            active, has_key=not self.key_missing
        )
        self.in_flight = [job.item() for job in active]
        self.running = len(active)


# ``klein_widget.panel(...)``: a new panel (display it by leaving it last in a cell).
panel = KleinPanel
