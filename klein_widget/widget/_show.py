"""What the panel shows: the image and its snippets, the thumbnails, the frame's lines.

`Shower` writes the panel's traits from a history entry (image with its parameters
embedded, so Download saves a reproducible file; snippets from `klein_widget.ui._snippets`),
sends each thumbnail to the front end once as a binary buffer, and keeps the static
fallback (`klein_widget.widget._fallback`) in step with the image shown.

Example:
    >>> shower = Shower(panel, history)  # doctest: +SKIP
    >>> shower.show_entry(panel.history[0])  # doctest: +SKIP
    ''
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from klein_widget._session import session
from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import is_local, resolve_base_url
from klein_widget.client._generation import Generation
from klein_widget.client._metadata import embed_params, read_params
from klein_widget.store._files import slug
from klein_widget.ui._snippets import default_filename, snippets
from klein_widget.widget._fallback import fallback_html
from klein_widget.widget._history import HistoryEntry, PanelHistory
from klein_widget.widget._status import connection_text, spend_text
from klein_widget.widget._transfer import ImageTransfer

if TYPE_CHECKING:
    from klein_widget.widget._state import PanelState

__all__ = ["Shower"]

EMULATOR_FIRST = (
    "import klein_widget\n\n"
    "klein_widget.use_emulator()  # this image came from the local emulator\n"
)


def entry_snippets(entry: HistoryEntry, filename: str) -> dict[str, str]:
    """The code that makes ``entry``'s image again. Python and the CLI read
    ``$WAVESPEED_BASE_URL``, so the URL is named only if it differs; an emulator's port
    never is (it changes with each start, and an image restored from the gallery may come
    from one long stopped): its Python starts one, its CLI and curl read the variable.

    Example:
        >>> entry_snippets(panel.history[0], "klein-7.png")["curl"]  # doctest: +SKIP
        '# Submit, poll, download ... BASE="$WAVESPEED_BASE_URL" ...'
    """
    emulator = is_local(entry.base_url)
    code = snippets(
        entry.request,
        base_url=entry.base_url,
        filename=filename,
        base_url_from_env=emulator or entry.base_url == resolve_base_url(None),
    )
    if emulator and "Python" in code:
        code["Python"] = EMULATOR_FIRST + code["Python"]
    if emulator and "curl" in code:
        named = f"BASE={shlex.quote(entry.base_url.rstrip('/'))}"
        code["curl"] = code["curl"].replace(named, 'BASE="$WAVESPEED_BASE_URL"', 1)
    return code


class Shower:
    """Writes what the panel shows into its traits."""

    def __init__(self, panel: PanelState, history: PanelHistory) -> None:
        self._panel = panel
        self._history = history
        self.transfer = ImageTransfer(lambda content, buffers: panel.send(content, buffers))

    def show_entry(
        self, entry: HistoryEntry, generation: Generation | None = None, *, done: str = ""
    ) -> str:
        """Show ``entry``'s image (``generation``'s, if given: the one just made) and
        snippets, captioned ``done`` (default: how it was first made); returns a note if
        only its thumbnail is left. The bytes shown carry their parameters, so Download
        saves a file `load_params` reads back."""
        done = done or entry.done
        p, r = self._panel, entry.request
        note, fmt = "", entry.format
        generation = generation or entry.generation
        if generation is not None:
            data = embed_params(generation.image, generation.params())
        else:
            found = entry.image()  # a gallery file has its parameters embedded
            if found is None:
                found, fmt, note = entry.thumbnail, "jpeg", " (only its thumbnail is still kept)"
            elif read_params(found) is None:
                found = embed_params(found, entry.params())
            data = found
        extension = "jpg" if fmt == "jpeg" else "png"
        code = entry_snippets(entry, default_filename(r, extension))
        with p.hold_sync():  # the bytes go first (once), the key with the other traits
            p.image_format = fmt
            p.image = data
            p.image_key = self.transfer.show(data, fmt)
            # Download saves to a name from the prompt and seed: "a-red-fox-in-snow-42.png".
            filename = f"{slug(r.prompt)}-{r.seed}.{extension}"
            p.image_info = {**entry.item(), "done": done, "filename": filename}
            p.snippets = code
            p.current_id = entry.task_id
            p.image_stale = False
        p._set_fallback(
            fallback_html(
                r, data, status=done, python=code.get("Python", ""), nsfw=entry.nsfw, alt=entry.alt
            )
        )
        return note

    def send_thumbnails(self, entries: list[HistoryEntry] | None = None) -> None:
        """Update the history list and send the thumbnails of ``entries`` (default: every
        kept one, for a view that just opened)."""
        self.sync_items()
        hello, entries = entries is None, self._history.entries if entries is None else entries
        if entries or hello:  # a view always gets an answer: it knows its kernel is there
            self._panel.send(
                {"type": "thumbs", "ids": [e.task_id for e in entries]},
                [e.thumbnail for e in entries],
            )

    def sync_items(self) -> None:
        """Write the history list (without thumbnails) into the panel's traits."""
        entries = self._history.entries
        with self._panel.hold_sync():
            self._panel.history_items = [e.item() for e in entries]
            self._panel.history_count = max((e.number for e in entries), default=0)

    def redraw_frame(self, client: AsyncKleinClient | None) -> None:
        """Where images come from and what was spent, for ``client`` (None: the
        session's, whose spend also counts ``%klein``)."""
        shared = session()
        source = client if client is not None else shared
        url, missing = source.base_url, source.key_missing
        emulator = shared.using_emulator and url == shared.base_url
        with self._panel.hold_sync():
            self._panel.key_missing = missing
            self._panel.connection = connection_text(url, emulator=emulator, has_key=not missing)
            self._panel.spend_line = spend_text(
                source.ledger.spend, session_wide=source.ledger is shared.ledger, base_url=url
            )
