"""The gallery: every image paid for, on disk with its parameters, indexed in SQLite.

```
klein-outputs/
  index.sqlite3                          one row per accepted task (WAL: many writers)
  2026-11-24/153012-a-red-fox-42.png     the image as served, parameters embedded
```

`Gallery` is the clients' `Journal`: a row is written when the server accepts a task
(so `klein_widget.resume()` can fetch it after a kernel restart) and completed with the
image's path once it is downloaded. The file is written before the index, and nothing here
may crash a generation or a read: a broken index, a full disk or a read-only folder warns
(naming the image or task, every time) and the image is still returned. The files carry
their parameters, so `Gallery.rebuild_index` can make a lost index again. The index lives
in `klein_widget.store._index` (SQLite) and `klein_widget.store._entry` (`GalleryEntry`);
the files in `klein_widget.store._files`; where a gallery lives in `_place`.

Example:
    >>> gallery = Gallery("klein-outputs")  # doctest: +SKIP
    >>> client = KleinClient(gallery=gallery)  # doctest: +SKIP
    >>> gallery.find(prompt="fox", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import TypeVar

from klein_widget.client._generation import Generation
from klein_widget.client._metadata import strip_params
from klein_widget.client._models import GenerationRequest, Prediction
from klein_widget.client._params import request_from_params
from klein_widget.store._attached import stored_in_packs
from klein_widget.store._entry import GalleryEntry, file_provenance
from klein_widget.store._files import find_written, write_image, written_images
from klein_widget.store._index import GalleryIndex
from klein_widget.store._pack import LessonPack

__all__ = ["Gallery", "GalleryEntry"]

T = TypeVar("T")


class Gallery:
    """Images on disk, their parameters embedded, indexed in ``index.sqlite3`` (WAL).

    Cheap to create: the folder and index are made on first write. Implements the
    clients' `Journal` (``task_submitted`` / ``task_completed``). ``packs``: read-only
    lesson packs consulted after the gallery's own images (None: those attached to the
    process, see `klein_widget.store._attached`; ``()``: none).

    Example:
        >>> gallery = Gallery("klein-outputs")
        >>> gallery.index_path.name
        'index.sqlite3'
    """

    def __init__(
        self,
        path: str | PathLike[str] = "klein-outputs",
        *,
        packs: Sequence[LessonPack] | None = None,
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self.packs = packs  # read-only lesson packs; None: those attached to the process
        self._index = GalleryIndex(self.path)
        self._write_lock = threading.Lock()
        self._reported: set[str] = set()  # unreadable rows already named in a warning
        self._unwritten: set[str] = set()  # submitted here, no file written for them yet

    @property
    def index_path(self) -> Path:
        """The SQLite index file."""
        return self._index.file

    def __repr__(self) -> str:
        return f"Gallery({str(self.path)!r})"

    def _warn(self, doing: str, error: BaseException) -> None:
        # Every time, naming what it was about: a paid image must never vanish silently.
        warnings.warn(
            f"klein-widget could not {doing} in the gallery at {self.path} "
            f"({type(error).__name__}: {error}). Images are still returned: save them with "
            "gen.save(path), or point gallery=... / $KLEIN_GALLERY at a writable folder "
            "(or 'off'); Gallery(path).rebuild_index() remakes a broken index from the files.",
            RuntimeWarning,
            stacklevel=4,
        )

    def _read(self, doing: str, read: Callable[[], T], nothing: T) -> T:
        """Read the index; a broken or unreadable one warns and reads as ``nothing``."""
        try:
            found = read()
        except sqlite3.Error as error:
            self._warn(doing, error)
            return nothing
        fresh = {k: v for k, v in self._index.unreadable.items() if k not in self._reported}
        if fresh:
            self._reported.update(fresh)
            names = ", ".join(f"{k} ({v})" for k, v in sorted(fresh.items())[:5])
            warnings.warn(
                f"klein-widget skipped {len(fresh)} unreadable row(s) of the gallery index at "
                f"{self.index_path}: {names}. The rest of the gallery is fine.",
                RuntimeWarning,
                stacklevel=3,
            )
        return found

    # --- the Journal protocol ------------------------------------------------------------------

    def task_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        """Record an accepted task so a restarted kernel can still fetch it."""
        try:
            self._index.record_submitted(request, prediction)
            self._unwritten.add(prediction.id)
        except Exception as error:  # the task is accepted; losing the row must not lose it
            self._warn("record an accepted task", error)

    def task_completed(self, generation: Generation) -> Generation:
        """Write the image (parameters embedded), then index it; returns it with ``path`` set.

        The file comes first: if the index cannot be written, the image is still on disk
        (and the warning says where). A task already written is never written twice.
        """
        task_id = generation.task_id
        with self._write_lock:  # resume and a batch may both fetch one task: save it once
            # A task this object recorded as submitted, and has not written, has no file
            # and no path yet: no index read and no scan. Only others (another kernel, a
            # write whose index update failed) need them; the scan lists every file.
            fresh = task_id in self._unwritten
            self._unwritten.discard(task_id)
            if not fresh:
                known = self._read("look up a task", lambda: self._index.entry(task_id), None)
                if known is not None and known.path is not None and known.path.exists():
                    return dataclasses.replace(generation, path=known.path)
            try:
                found = None if fresh else find_written(self.path, generation)
                path = found or write_image(self.path, generation)
            except OSError as error:
                self._warn(f"save the image of task {task_id}", error)
                return generation
            try:
                self._index.record_completed(generation, path)
            except Exception as error:
                self._warn(f"index the image saved at {path}", error)
        return dataclasses.replace(generation, path=path)

    def rebuild_index(self) -> int:
        """Index every image file in the folder from its embedded parameters; returns how many.

        For a lost or broken ``index.sqlite3``: move it aside, then rebuild. Rows already
        there are updated, not duplicated.

        Example:
            >>> Gallery("klein-outputs").rebuild_index()  # doctest: +SKIP
            42
        """
        count = 0
        for path, params in written_images(self.path):
            try:
                request = request_from_params(params)
                prediction = Prediction.from_json(
                    {
                        "id": str(params["task_id"]),
                        "model": params.get("model"),
                        "status": "completed",
                        "created_at": params.get("created_at"),
                        "timings": {"inference": params.get("inference_ms")},
                        "has_nsfw_contents": [bool(params.get("nsfw", False))],
                    }
                )
                simulated, service = file_provenance(params, path.read_bytes())
            except (KeyError, TypeError, ValueError, OSError):  # not a file we wrote
                continue
            made = Generation(request, prediction, b"", simulated=simulated, service=service)
            with self._write_lock:
                self._index.record_completed(made, path)
            count += 1
        return count

    def _update(self, change: Callable[[str, str], None], task_id: str, reason: str) -> None:
        # Both marks (`task_failed`, `task_attempted`) go through here, so the warning
        # (stacklevel=4) names their caller.
        try:
            change(task_id, reason)
        except Exception as error:
            self._warn("update a task", error)

    # --- reading ---------------------------------------------------------------------------------

    def entry(self, task_id: str) -> GalleryEntry | None:
        """The row for one task, or None."""
        return self._read("read the index", lambda: self._index.entry(task_id), None)

    def lookup(self, request: GenerationRequest, *, real_only: bool = False) -> GalleryEntry | None:
        """The newest completed image of exactly this recipe (`recipe_key`) whose file
        exists, a real one first (``real_only``: never a stand-in)."""
        return self._read(
            "read the index", lambda: self._index.lookup(request, real_only=real_only), None
        )

    # The rest of the client's `Journal` protocol.

    def task_failed(self, task_id: str, reason: str) -> None:
        """Journal hook: the task ended without an image: never try to fetch it again."""
        self._update(self._index.mark_failed, task_id, reason)

    def task_attempted(self, task_id: str, reason: str) -> None:
        """Journal hook: a fetch went nowhere; after `MAX_ATTEMPTS` the task is
        ``abandoned``."""
        self._update(self._index.mark_attempt, task_id, reason)

    def stored(self, request: GenerationRequest, *, real_only: bool = False) -> Generation | None:
        """Journal hook: the image already made for exactly this request, from disk:
        this gallery's own, else a lesson pack's (``packs``, or the attached ones); a real
        image before a stand-in, and with ``real_only`` never a stand-in."""
        found = self.lookup(request, real_only=real_only)
        if found is not None and (found.simulated and not real_only):
            packed = stored_in_packs(self.packs, request, real_only=True)
            if packed is not None:  # a pack's real image beats the gallery's stand-in
                return packed
        if found is not None:
            return self.load(found)
        return stored_in_packs(self.packs, request, real_only=real_only)

    def unfinished_task(self, request: GenerationRequest, origin: str) -> str | None:
        """Journal hook: an accepted (paid) task for this prompt, size and seed on the
        server at ``origin`` whose image never arrived (fetch it rather than pay again)."""
        found = self._read(
            "read the index", lambda: self._index.lookup_pending(request, origin), None
        )
        return found.task_id if found is not None else None

    def pending(self) -> list[GalleryEntry]:
        """Accepted tasks whose image never arrived (oldest first): what `resume` fetches."""
        return self._read("read the index", self._index.pending, [])

    def find(
        self,
        prompt: str | None = None,
        *,
        seed: int | None = None,
        size: tuple[int, int] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 50,
    ) -> list[GalleryEntry]:
        """Completed images, newest first, filtered (prompt: a substring, any case)."""
        return self._read(
            "read the index",
            lambda: self._index.find(
                prompt, seed=seed, size=size, since=since, until=until, limit=limit
            ),
            [],
        )

    def __len__(self) -> int:
        return self._read("read the index", self._index.count, 0)

    def load(self, entry: GalleryEntry | str) -> Generation:
        """The stored image as a `Generation`: the bytes as served (the embedded parameters
        taken out again), the parameters from the index.

        Example:
            >>> gen = gallery.load(gallery.find(limit=1)[0])  # doctest: +SKIP
        """
        found = self.entry(entry) if isinstance(entry, str) else entry
        if found is None or found.path is None:
            raise LookupError(f"The gallery at {self.path} has no image for task {entry!r}.")
        timings = {"inference": found.inference_ms} if found.inference_ms is not None else {}
        prediction = Prediction(
            id=found.task_id,
            model=found.model,
            status="completed",
            has_nsfw_contents=(found.nsfw,),
            timings=timings,
            created_at=found.created_at,
        )
        return Generation(
            found.request,
            prediction,
            strip_params(found.path.read_bytes()),  # the bytes as served
            elapsed=found.elapsed or 0.0,
            path=found.path,
            simulated=found.simulated,
            service=found.service,
        )
