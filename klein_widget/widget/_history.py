"""The panel's history strip: small thumbnails of this session's images, newest first.

Memory stays bounded however many images are made: the strip keeps at most `LIMIT`
entries (older thumbnail widgets are closed), each with a small JPEG thumbnail (made by
`klein_widget.ui._images`, like every thumbnail), and holds full images only for the
newest `FULL_IMAGES`; older ones are read back from the gallery file when restored, if
there is one.

Example:
    >>> strip = HistoryStrip(on_select=print)  # doctest: +SKIP
    >>> entry = strip.add(generation, base_url="https://api.wavespeed.ai")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as w

from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest
from klein_widget.ui._images import THUMBNAIL_SIDE, ThumbnailError, placeholder, thumbnail
from klein_widget.ui._text import done_text

LIMIT = 32  # thumbnails in the strip
FULL_IMAGES = 6  # newest entries whose full image stays in memory


def _strip_thumbnail(generation: Generation) -> bytes:
    """The card's picture: blurred if flagged NSFW; grey if the image cannot be shown."""
    try:
        return thumbnail(generation, blur=generation.nsfw)
    except ThumbnailError:
        return placeholder()


@dataclass
class HistoryEntry:
    """One image in the strip: what restores it, without necessarily the image itself."""

    number: int
    request: GenerationRequest
    task_id: str
    thumbnail: bytes = field(repr=False)
    nsfw: bool
    done: str  # the status line it finished with
    format: str
    base_url: str
    path: Path | None
    # Dropped once the entry is no longer among the newest FULL_IMAGES.
    generation: Generation | None = field(repr=False)
    card: Any = field(default=None, repr=False)

    def image(self) -> bytes | None:
        """The full image: from memory, else from the gallery file, else None."""
        if self.generation is not None:
            return self.generation.image
        if self.path is not None:
            try:
                return self.path.read_bytes()
            except OSError:
                return None
        return None


class HistoryStrip:
    """A horizontally scrolling row of thumbnail cards; clicking one calls ``on_select``."""

    def __init__(self, on_select: Callable[[HistoryEntry], None]) -> None:
        self._on_select = on_select
        self._entries: list[HistoryEntry] = []  # newest first
        self._count = 0
        self.label = w.HTML()
        self.strip = w.HBox(
            layout=w.Layout(
                overflow="auto hidden", flex_flow="row nowrap", width="100%", padding="2px 0 4px 0"
            )
        )
        self.box = w.VBox([self.label, self.strip], layout=w.Layout(display="none"))
        self._relabel()

    @property
    def entries(self) -> list[HistoryEntry]:
        """The entries, newest first."""
        return list(self._entries)

    def find(self, task_id: str) -> HistoryEntry | None:
        """The entry of a task, if it is in the strip."""
        return next((e for e in self._entries if e.task_id == task_id), None)

    def add(self, generation: Generation, *, base_url: str) -> HistoryEntry:
        """Add ``generation`` as the newest entry (or return its entry if already there)."""
        found = self.find(generation.task_id) if generation.task_id else None
        if found is not None:
            return found
        self._count += 1
        entry = HistoryEntry(
            number=self._count,
            request=generation.request,
            task_id=generation.task_id,
            thumbnail=_strip_thumbnail(generation),
            nsfw=generation.nsfw,
            done=done_text(generation, base_url=base_url),
            format="jpeg" if generation.format == "jpeg" else "png",
            base_url=base_url,
            path=generation.path,
            generation=generation,
        )
        entry.card = self._card(entry)
        self._entries.insert(0, entry)
        for old in self._entries[FULL_IMAGES:]:
            old.generation = None
        for gone in self._entries[LIMIT:]:
            _close_tree(gone.card)
        del self._entries[LIMIT:]
        self.strip.children = tuple(e.card for e in self._entries)
        self.box.layout.display = None
        self._relabel()
        return entry

    def mark_current(self, entry: HistoryEntry | None) -> None:
        """Outline the card of the image being shown."""
        for e in self._entries:
            if e is entry:
                e.card.add_class("klein-current")
            else:
                e.card.remove_class("klein-current")

    def close(self) -> None:
        """Close every widget of the strip."""
        for entry in self._entries:
            _close_tree(entry.card)
        self._entries.clear()
        _close_tree(self.box)

    def _relabel(self) -> None:
        count = len(self._entries)
        more = f" (the newest {LIMIT} are shown)" if self._count > LIMIT else ""
        self.label.value = (
            '<span style="color: var(--jp-ui-font-color2, #666); font-size: 12px">'
            f"History · {self._count} image{'s' if self._count != 1 else ''} this session"
            f"{more} · newest first · click one to restore it</span>"
            if count
            else ""
        )

    def _card(self, entry: HistoryEntry) -> Any:
        request = entry.request
        scale = THUMBNAIL_SIDE / max(request.width, request.height)
        picture = w.Image(
            value=entry.thumbnail,
            format="jpeg",
            layout=w.Layout(
                width=f"{round(request.width * scale)}px",
                height=f"{round(request.height * scale)}px",
            ),
        )
        prompt = request.prompt if len(request.prompt) <= 160 else request.prompt[:157] + "…"
        flag = " · flagged NSFW" if entry.nsfw else ""
        button = w.Button(
            description=f"{request.width}\u00d7{request.height}",
            tooltip=f"#{entry.number} · seed {request.seed}{flag}\n{prompt}\nClick to restore",
            layout=w.Layout(width="100%", margin="0"),
        )
        button.on_click(lambda _b: self._on_select(entry))
        card = w.VBox(
            [picture, button],
            layout=w.Layout(
                flex="0 0 auto",
                align_items="center",
                margin="0 6px 0 0",
                width=f"{THUMBNAIL_SIDE + 4}px",
            ),
        )
        card.add_class("klein-thumb")
        return card


def _close_tree(widget: Any) -> None:
    """Close a widget, recursively its children, and its layout and style: each is a
    widget with its own comm, which ``close()`` leaves open (ipywidgets 8)."""
    if widget is None:
        return
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if isinstance(part, w.Widget):
            part.close()
    widget.close()
