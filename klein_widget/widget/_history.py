"""The panel's history: thumbnails of the images made, newest first, bounded.

Memory stays bounded however many images are made: at most `LIMIT` entries, each with a
small JPEG thumbnail (made by `klein_widget.ui._images`, like every thumbnail), and full
images only for the newest `FULL_IMAGES`; older ones are read back from their gallery
file when restored. A new panel starts from the gallery on disk (`PanelHistory.open`), so the
history survives kernel restarts. Entries carry no widgets: the front end draws them from
`HistoryEntry.item` and gets each thumbnail once, as a binary buffer.

Example:
    >>> history = PanelHistory()
    >>> history.entries
    []
    >>> entry = history.add(generation, base_url="https://api.wavespeed.ai")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest
from klein_widget.client._policy import InferenceTimes
from klein_widget.store._gallery import Gallery
from klein_widget.ui._images import ThumbnailError, placeholder, thumbnail
from klein_widget.ui._text import done_text

__all__ = ["FULL_IMAGES", "LIMIT", "HistoryEntry", "PanelHistory"]

LIMIT = 32  # entries kept (thumbnails about 3 KB each)
FULL_IMAGES = 6  # newest entries whose full image stays in memory
_log = logging.getLogger("klein_widget.panel")


def _thumb(image: bytes, nsfw: bool) -> bytes:
    """The card's picture: blurred if flagged NSFW; grey if the image cannot be shown."""
    try:
        return thumbnail(image, blur=nsfw)
    except ThumbnailError:
        return placeholder()


@dataclass
class HistoryEntry:
    """One image in the history: what restores it, without necessarily the image itself."""

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

    def item(self) -> dict[str, Any]:
        """What the front end shows for it (the thumbnail travels separately)."""
        r = self.request
        return {
            "id": self.task_id,
            "number": self.number,
            "prompt": r.prompt,
            "width": r.width,
            "height": r.height,
            "seed": r.seed,
            "nsfw": self.nsfw,
        }


class PanelHistory:
    """The panel's entries, newest first, at most `LIMIT`."""

    def __init__(self) -> None:
        self._entries: list[HistoryEntry] = []
        self._lock = threading.Lock()
        self.count = 0  # images added this panel's life (also those no longer kept)

    @property
    def entries(self) -> list[HistoryEntry]:
        """The entries, newest first."""
        return list(self._entries)

    def find(self, task_id: str) -> HistoryEntry | None:
        """The entry of a task, if it is kept."""
        return next((e for e in self._entries if e.task_id == task_id), None)

    def add(self, generation: Generation, *, base_url: str, newest: bool = True) -> HistoryEntry:
        """Add ``generation`` (newest, or oldest when loading) or return its entry."""
        found = self.find(generation.task_id) if generation.task_id else None
        if found is not None:
            return found
        picture = _thumb(generation.image, generation.nsfw)  # slow: outside the lock
        with self._lock:  # the kernel may hand over images on two threads at once
            found = self.find(generation.task_id) if generation.task_id else None
            return found or self._insert(generation, picture, base_url, newest)

    def _insert(
        self, generation: Generation, picture: bytes, base_url: str, newest: bool
    ) -> HistoryEntry:
        self.count += 1
        entry = HistoryEntry(
            number=self.count,
            request=generation.request,
            task_id=generation.task_id,
            thumbnail=picture,
            nsfw=generation.nsfw,
            done=done_text(generation, base_url=base_url),
            format="jpeg" if generation.format == "jpeg" else "png",
            base_url=base_url,
            path=generation.path,
            generation=generation,
        )
        if newest:
            self._entries.insert(0, entry)
        else:
            self._entries.append(entry)
        for old in self._entries[FULL_IMAGES:]:
            old.generation = None
        del self._entries[LIMIT:]
        return entry

    def load(self, gallery: Gallery | None, *, base_url: str) -> int:
        """Fill an empty history from the gallery's newest images; returns how many."""
        if gallery is None:
            return 0
        found = gallery.find(limit=LIMIT)
        for row in reversed(found):  # oldest first, so numbers count up to the newest
            try:
                made = gallery.load(row)
            except (LookupError, OSError) as error:
                _log.debug("history: skipped %s (%s)", row.task_id, error)
                continue
            self.add(made, base_url=base_url)
        return len(found)

    def open(
        self,
        gallery: Gallery | None,
        *,
        recent: list[Generation],
        base_url: str,
        times: InferenceTimes,
    ) -> None:
        """Start a new panel's history: the gallery's newest images, else ``recent`` (the
        session's, when there is no gallery); learn from them how long images take."""
        self.load(gallery, base_url=base_url)
        if not self._entries:
            for generation in recent[-LIMIT:]:
                self.add(generation, base_url=base_url)
        for entry in reversed(self._entries):
            made = entry.generation
            if made is not None and made.elapsed > 0 and not made.from_gallery:
                times.learn(entry.request.width * entry.request.height, round(made.elapsed * 1000))

    def items(self) -> list[dict[str, Any]]:
        """The front end's list, newest first."""
        return [e.item() for e in self._entries]

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
