"""The panel's reference tray: up to four images an edit starts from, in order.

The prompt names them "image 1", "image 2"... in the tray's order. An image comes from
the history ("Edit this": the entry itself, nothing crosses the comm) or from the page (a
file, a drop, a paste: its bytes cross the comm once, as the binary buffer of an
``{"type": "add_reference"}`` message). Every image is checked here before it is kept:
a fifth one, bytes that are no image, or a file too large is refused with a sentence
that says so, and the tray is unchanged.

The front end draws the tray from `ReferenceTray.items` and gets each thumbnail once, as
a binary buffer of a ``{"type": "tray_thumbs"}`` message.

Example:
    >>> tray = ReferenceTray()
    >>> tray.add_bytes(b"not an image", "notes.txt")
    '"notes.txt" is not an image the panel can read: use a PNG, JPEG or WebP file.'
    >>> len(tray)
    0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from klein_widget.client._family import MAX_REFERENCES
from klein_widget.client._generation import Generation
from klein_widget.client._references import header_size
from klein_widget.ui._images import ThumbnailError, placeholder, thumbnail
from klein_widget.widget._history import HistoryEntry
from klein_widget.widget._transfer import image_key

__all__ = ["MAX_REFERENCE_BYTES", "ReferenceTray", "TrayItem"]

MAX_REFERENCE_BYTES = 20 * 1024 * 1024  # a photo straight from a phone fits; more is a mistake


@dataclass(frozen=True)
class TrayItem:
    """One reference: bytes from the page, a history entry, or a URL (a restored edit
    whose reference is no longer held here: its uploaded URL)."""

    key: str
    label: str  # where it came from, in words: "image #3", "fox.png", "pasted image"
    size: tuple[int, int] | None
    thumbnail: bytes = field(repr=False)
    data: bytes | None = field(default=None, repr=False)
    entry: HistoryEntry | None = field(default=None, repr=False)
    url: str | None = None

    def image(self) -> Generation | bytes | str:
        """What `AsyncKleinClient.edit` takes for it: the entry's `Generation` (or its
        gallery file's bytes), the page's bytes, or the URL."""
        if self.entry is not None:
            if self.entry.generation is not None:
                return self.entry.generation
            found = self.entry.image()
            if found is not None:
                return found
        if self.data is not None:
            return self.data
        if self.url is not None:
            return self.url
        raise LookupError(f"{self.label} is no longer available: remove it and add it again")


class ReferenceTray:
    """The references in order (image 1 first), at most `MAX_REFERENCES`."""

    def __init__(self) -> None:
        self._items: list[TrayItem] = []

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[TrayItem]:
        """The references, image 1 first."""
        return list(self._items)

    @property
    def first_size(self) -> tuple[int, int] | None:
        """Image 1's size: an edit's output keeps it unless a size is sent."""
        return self._items[0].size if self._items else None

    def _room(self, label: str) -> str:
        if len(self._items) >= MAX_REFERENCES:
            return (
                f"The tray holds {MAX_REFERENCES} images at most, so {label} was not added: "
                "remove one first."
            )
        return ""

    def add_bytes(self, data: bytes, name: str = "") -> str:
        """Add an image from the page; returns why it was refused, or ``""``."""
        label = name.strip() or "the pasted image"
        quoted = f'"{label}"' if name.strip() else label
        refusal = self._room(quoted)
        if refusal:
            return refusal
        if len(data) > MAX_REFERENCE_BYTES:
            mib = MAX_REFERENCE_BYTES // (1024 * 1024)
            size = f"{len(data) / 2**20:.1f} MiB"
            return f"{quoted} is {size}: the panel takes images up to {mib} MiB."
        try:
            picture = thumbnail(data)
        except ThumbnailError:
            return f"{quoted} is not an image the panel can read: use a PNG, JPEG or WebP file."
        key = image_key(data)
        if any(item.key == key for item in self._items):
            return f"{quoted} is already in the tray (image {self.number(key)})."
        self._items.append(TrayItem(key, label, header_size(data), picture, data=data))
        return ""

    def add_entry(self, entry: HistoryEntry) -> str:
        """Add a history image (by its entry: no bytes cross the comm); returns why it
        was refused, or ``""``."""
        label = f"image #{entry.number}"
        key = f"history-{entry.task_id}"
        if any(item.key == key for item in self._items):
            return f"History {label} is already in the tray (image {self.number(key)})."
        refusal = self._room(f"history {label}")
        if refusal:
            return refusal
        self._items.append(TrayItem(key, label, entry.size, entry.thumbnail, entry=entry))
        return ""

    def add_url(self, url: str, *, label: str) -> str:
        """Add a reference by URL (what a restored edit was sent); returns why it was
        refused, or ``""``."""
        key = f"url-{image_key(url.encode())}"
        if any(item.key == key for item in self._items):
            return ""
        refusal = self._room(label)
        if refusal:
            return refusal
        self._items.append(TrayItem(key, label, None, placeholder(), url=url))
        return ""

    def number(self, key: str) -> int:
        """The 1-based number of the reference ``key`` (0 if it is not in the tray)."""
        return next((n for n, item in enumerate(self._items, 1) if item.key == key), 0)

    def remove(self, key: str) -> TrayItem | None:
        """Take reference ``key`` out (the ones after it move up a number)."""
        found = next((item for item in self._items if item.key == key), None)
        if found is not None:
            self._items.remove(found)
        return found

    def move(self, key: str, by: int) -> bool:
        """Move reference ``key`` ``by`` places (-1: earlier); True if it moved."""
        at = self.number(key) - 1
        to = at + by
        if at < 0 or not 0 <= to < len(self._items):
            return False
        self._items.insert(to, self._items.pop(at))
        return True

    def replace(self, items: list[TrayItem]) -> None:
        """Put exactly ``items`` in the tray (a restored edit's references)."""
        self._items = list(items[:MAX_REFERENCES])

    def clear(self) -> None:
        """Empty the tray."""
        self._items.clear()

    def front(self) -> list[dict[str, Any]]:
        """The front end's list, image 1 first (thumbnails travel separately)."""
        return [
            {
                "key": item.key,
                "number": n,
                "label": item.label,
                "width": item.size[0] if item.size else None,
                "height": item.size[1] if item.size else None,
                "id": item.entry.task_id if item.entry is not None else "",
            }
            for n, item in enumerate(self._items, 1)
        ]
