"""The panel's history: thumbnails of the images made, newest first, bounded.

Memory stays bounded however many images are made: at most `LIMIT` entries, each with a
small JPEG thumbnail (made by `klein_widget.ui._images`, like every thumbnail), and full
images only for the newest `FULL_IMAGES`; older ones are read back from their gallery
file when restored. A new panel starts from the gallery on disk (`PanelHistory.sources`,
then `PanelHistory.start` a few images at a time in a worker thread, so the panel shows at
once and its history fills in), so the history survives kernel restarts. Entries carry no
widgets: the front end draws them from `HistoryEntry.item` and gets each thumbnail once,
as a binary buffer.

The history also learns how long images take, for the progress bar's estimate
(`PanelHistory.expected`). The bar measures a job from the click to the image on screen
(sending, queue, inference, download), so it learns exactly that: each new image's
``elapsed`` per size, with the client's own rule (`klein_widget.client._policy.InferenceTimes`:
a running average per size, a scaled lower bound for sizes not seen yet), from the panel's
images, the session's others (``%klein``, other panels) and, when a panel opens, the
gallery's recorded times. Images answered from the gallery teach nothing (no wait).

Example:
    >>> history = PanelHistory()
    >>> history.entries
    []
    >>> entry = history.add(generation, base_url="https://api.wavespeed.ai")  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest
from klein_widget.client._policy import InferenceTimes
from klein_widget.client._references import header_size
from klein_widget.store._gallery import Gallery
from klein_widget.ui._figure import generation_alt
from klein_widget.ui._images import ThumbnailError, placeholder, thumbnail
from klein_widget.ui._text import done_text

if TYPE_CHECKING:
    from klein_widget.widget._order import PanelOrder

__all__ = ["FULL_IMAGES", "LIMIT", "STEP", "HistoryEntry", "PanelHistory"]

LIMIT = 32  # entries kept (thumbnails about 3 KB each)
FULL_IMAGES = 6  # newest entries whose full image stays in memory
STEP = 4  # images read and thumbnailed per step when a panel opens
_log = logging.getLogger("klein_widget.panel")

Source = Callable[[], Generation]  # reads one image (a gallery file, or one in memory)
Prepared = tuple[int, Generation, bytes]  # number, image, thumbnail


def _prepare(chunk: list[tuple[int, Source]]) -> list[Prepared]:
    """Read and thumbnail a few images (in a worker thread); skip unreadable ones."""
    made: list[Prepared] = []
    for number, source in chunk:
        try:
            generation = source()
        except (LookupError, OSError) as error:
            _log.debug("history: skipped image #%d (%s)", number, error)
            continue
        made.append((number, generation, _thumb(generation.image, generation.nsfw)))
    return made


def request_size(generation: Generation) -> tuple[int, int]:
    """The size asked for; an edit that sent none has its first reference's (the image's)."""
    r = generation.request
    if r.width is not None and r.height is not None:
        return r.width, r.height
    return header_size(generation.image) or (0, 0)


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
    alt: str = ""  # `klein_widget.ui._figure.alt_text`
    made_with: dict[str, Any] = field(default_factory=dict, repr=False)  # Generation.params
    size: tuple[int, int] = (0, 0)  # the image's (an edit may have sent none)
    # An edit this panel made: its model and references, which a restore puts back.
    made_by: PanelOrder | None = field(default=None, repr=False)

    def params(self) -> dict[str, Any]:
        """The parameters embedded in its image (`Generation.params`)."""
        return dict(self.made_with)

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
            "width": self.size[0],
            "height": self.size[1],
            "seed": r.seed,
            "nsfw": self.nsfw,
            "alt": self.alt,
            "edit": r.is_edit,
        }


class PanelHistory:
    """The panel's entries, newest first, at most `LIMIT`."""

    def __init__(self) -> None:
        self._entries: list[HistoryEntry] = []
        self._lock = threading.Lock()
        self.count = 0  # images added this panel's life (also those no longer kept)
        self._times = InferenceTimes()  # end-to-end seconds per image size

    @property
    def entries(self) -> list[HistoryEntry]:
        """The entries, newest first."""
        return list(self._entries)

    def find(self, task_id: str) -> HistoryEntry | None:
        """The entry of a task, if it is kept."""
        return next((e for e in self._entries if e.task_id == task_id), None)

    def expected(self, request: GenerationRequest) -> float | None:
        """Seconds ``request`` should take, or None before anything is learned."""
        return self._times.expected(request.pixels)

    def _learn(self, generation: Generation | None) -> None:
        """Learn from one finished image (not from one the gallery answered)."""
        if generation is None or generation.elapsed <= 0 or generation.from_gallery:
            return
        self._times.learn(generation.request.pixels, round(generation.elapsed * 1000))

    def add(self, generation: Generation, *, base_url: str) -> HistoryEntry:
        """Add ``generation`` as the newest (loading adds below: `start`), or return its entry;
        a new image teaches how long images take (once, wherever in the session it was made)."""
        found = self.find(generation.task_id) if generation.task_id else None
        if found is not None:
            return found
        picture = _thumb(generation.image, generation.nsfw)  # slow: outside the lock
        with self._lock:  # the kernel may hand over images on two threads at once
            found = self.find(generation.task_id) if generation.task_id else None
            return found or self._insert(generation, picture, base_url)

    def _insert(self, generation: Generation, picture: bytes, base_url: str) -> HistoryEntry:
        self.count += 1
        self._learn(generation)
        entry = self._entry(self.count, generation, picture, base_url)
        self._entries.insert(0, entry)
        for old in self._entries[FULL_IMAGES:]:
            old.generation = None
        del self._entries[LIMIT:]
        return entry

    @staticmethod
    def _entry(number: int, generation: Generation, picture: bytes, base_url: str) -> HistoryEntry:
        return HistoryEntry(
            number=number,
            request=generation.request,
            task_id=generation.task_id,
            thumbnail=picture,
            nsfw=generation.nsfw,
            done=done_text(generation, base_url=base_url),
            format="jpeg" if generation.format == "jpeg" else "png",
            base_url=base_url,
            path=generation.path,
            generation=generation,
            alt=generation_alt(generation, base_url),
            made_with=generation.params(),
            size=request_size(generation),
        )

    def sources(self, gallery: Gallery | None, *, recent: list[Generation]) -> list[Source]:
        """What a new panel's history starts from, newest first: the gallery's newest
        images, else ``recent`` (the session's, when there is no gallery). Cheap: reads
        the index only; the images are read (and thumbnailed) by `start`."""
        if gallery is not None:
            rows = gallery.find(limit=LIMIT)
            if rows:
                return [functools.partial(gallery.load, row) for row in rows]
        return [functools.partial(lambda g: g, g) for g in reversed(recent[-LIMIT:])]

    def start(
        self,
        sources: list[Source],
        *,
        base_url: str,
        loop: asyncio.AbstractEventLoop | None,
        on_step: Callable[[list[HistoryEntry]], None],
        on_done: Callable[[], object],
    ) -> asyncio.Task[None] | None:
        """Add ``sources`` (newest first) below what is there: as a task on ``loop``,
        `STEP` at a time, each step's files read and thumbnailed in a worker thread, so the
        kernel's loop (and the panel's first render) never waits, and ``on_step`` shows
        each step; with no loop (a script) or nothing to read, all at once. Then learn
        from the entries how long images take, and call ``on_done``."""
        numbers = self._reserve(len(sources))

        def done(entries: list[HistoryEntry]) -> None:
            for entry in reversed(entries):  # oldest first, as they were made
                self._learn(entry.generation)
            on_done()

        if loop is None or not sources:
            done(self._append(_prepare(list(zip(numbers, sources, strict=True))), base_url))
            return None

        async def fill() -> None:
            added: list[HistoryEntry] = []
            for at in range(0, len(sources), STEP):
                chunk = list(zip(numbers[at : at + STEP], sources[at : at + STEP], strict=True))
                entries = self._append(await asyncio.to_thread(_prepare, chunk), base_url)
                added += entries
                on_step(entries)
            done(added)

        return loop.create_task(fill())

    def _reserve(self, count: int) -> list[int]:
        """Numbers for ``count`` older images, newest first; later images count on."""
        with self._lock:
            first = self.count + 1
            self.count += count
        return list(range(first + count - 1, first - 1, -1))

    def _append(self, made: list[Prepared], base_url: str) -> list[HistoryEntry]:
        entries: list[HistoryEntry] = []
        with self._lock:
            for number, generation, picture in made:
                if self.find(generation.task_id) is not None or len(self._entries) >= LIMIT:
                    continue
                entries.append(self._entry(number, generation, picture, base_url))
                self._entries.append(entries[-1])
            for old in self._entries[FULL_IMAGES:]:
                old.generation = None
        return entries
