"""The gallery: every image paid for, on disk with its parameters, indexed in SQLite.

```
klein-outputs/
  index.sqlite3                          one row per accepted task (WAL: many writers)
  2026-11-24/153012-a-red-fox-42.png     the image as served, parameters embedded
```

`Gallery` is the clients' `Journal`: a row is written when the server accepts a task
(so `klein_widget.resume()` can fetch it after a kernel restart) and completed with the
image's path once it is downloaded; else it ends ``failed`` (the task ended without an
image) or ``abandoned`` (`MAX_ATTEMPTS` fetches went nowhere). The file is written before
the index, and nothing here may crash a generation or a read: a broken index, a full disk
or a read-only folder warns (naming the image or task, every time) and the image is still
returned. The files carry their parameters, so `Gallery.rebuild_index` can make a lost
index again. A `Gallery` is its index (`klein_widget.store._index`: the table and its
reads; rows as `klein_widget.store._entry.GalleryEntry`), the writes and the files
(`klein_widget.store._files`); where a gallery lives is `_place`'s rule.

Example:
    >>> gallery = Gallery("klein-outputs")  # doctest: +SKIP
    >>> client = KleinClient(gallery=gallery)  # doctest: +SKIP
    >>> gallery.find(prompt="fox", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from typing import Any

from klein_widget.client._config import url_origin
from klein_widget.client._family_inputs import family_params
from klein_widget.client._generation import Generation
from klein_widget.client._metadata import strip_params
from klein_widget.client._models import GenerationRequest, Prediction
from klein_widget.client._params import request_from_params
from klein_widget.store._attached import stored_in_packs
from klein_widget.store._entry import GalleryEntry, file_provenance
from klein_widget.store._files import find_written, write_image, written_images
from klein_widget.store._index import GalleryIndex, stamp
from klein_widget.store._pack import LessonPack

__all__ = ["MAX_ATTEMPTS", "Gallery", "GalleryEntry"]

MAX_ATTEMPTS = 3  # resume gives up on a task after this many fetches that went nowhere


def _now() -> str:
    return stamp(datetime.now(timezone.utc))


def _created(prediction: Prediction) -> str | None:
    return prediction.created_at.isoformat() if prediction.created_at else None


def _task_columns(
    request: GenerationRequest, prediction: Prediction, made: tuple[int, int] = (0, 0)
) -> tuple[Any, ...]:
    """The first columns of both rows written below, in their order: task_id, prompt, width,
    height, seed, sync_mode, base64_output, model, origin, recipe, family. An edit that kept
    its first image's size stores the size ``made`` (0 before it is known), and ``family``
    says the size was not sent."""
    width, height = (request.width, request.height) if request.width is not None else made
    return (
        prediction.id,
        request.prompt,
        width,
        height,
        request.seed,
        int(request.sync_mode),
        int(request.base64_output),
        prediction.model,
        url_origin(prediction.urls.get("get", "")),
        request.key,
        json.dumps(family_params(request), ensure_ascii=False),
    )


class Gallery(GalleryIndex):
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
        super().__init__(Path(path).expanduser().absolute())
        self.packs = packs  # read-only lesson packs; None: those attached to the process
        self._write_lock = threading.Lock()
        self._unwritten: set[str] = set()  # submitted here, no file written for them yet

    def __repr__(self) -> str:
        return f"Gallery({str(self.path)!r})"

    # --- the Journal protocol (`unfinished_task`: a read, the index's) ----------------------------

    def task_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        """Record an accepted task so a restarted kernel can still fetch it."""
        try:  # a row already there is left alone
            self._execute(
                "INSERT INTO images (task_id, status, prompt, width, height, seed, "
                "sync_mode, base64_output, model, origin, recipe, family, submitted_at, "
                "created_at, simulated) "
                "VALUES (?, 'submitted', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(task_id) DO NOTHING",
                (
                    *_task_columns(request, prediction),
                    _now(),
                    _created(prediction),
                    prediction.simulated,  # as the server said on accepting it (None: not said)
                ),
            )
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
                known = self.entry(task_id)
                if known is not None and known.path is not None and known.path.exists():
                    return dataclasses.replace(generation, path=known.path)
            try:
                found = None if fresh else find_written(self.path, generation)
                path = found or write_image(self.path, generation)
            except OSError as error:
                self._warn(f"save the image of task {task_id}", error)
                return generation
            try:
                self._record_completed(generation, path)
            except Exception as error:
                self._warn(f"index the image saved at {path}", error)
        return dataclasses.replace(generation, path=path)

    def _record_completed(self, generation: Generation, path: Path) -> None:
        # The row ``completed``, with its image at ``path`` (inserted if unknown).
        prediction = generation.prediction
        self._execute(
            "INSERT INTO images (task_id, status, prompt, width, height, seed, sync_mode, "
            "base64_output, model, origin, recipe, family, submitted_at, completed_at, "
            "created_at, inference_ms, elapsed, cost, nsfw, path, simulated, service) "
            "VALUES (?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(task_id) DO UPDATE SET status='completed', "
            "completed_at=excluded.completed_at, "
            "created_at=coalesce(excluded.created_at, created_at), "
            "inference_ms=excluded.inference_ms, elapsed=excluded.elapsed, "
            "cost=excluded.cost, nsfw=excluded.nsfw, path=excluded.path, "
            "model=excluded.model, recipe=excluded.recipe, family=excluded.family, "
            "width=excluded.width, height=excluded.height, simulated=excluded.simulated, "
            "service=excluded.service, error=''",
            (
                *_task_columns(generation.request, prediction, generation.size),
                _now(),
                _now(),
                _created(prediction),
                prediction.inference_ms,
                generation.elapsed,
                generation.cost,
                int(generation.nsfw),
                str(path.relative_to(self.path)),
                int(generation.simulated),
                generation.service,
            ),
        )

    def _mark(self, sql: str, args: tuple[object, ...]) -> None:
        try:
            self._execute(sql, args)
        except Exception as error:  # a mark lost must not lose the image, nor crash the run
            self._warn("update a task", error)

    def task_failed(self, task_id: str, reason: str) -> None:
        """Journal hook: the task ended without an image: never try to fetch it again."""
        self._mark("UPDATE images SET status='failed', error=? WHERE task_id=?", (reason, task_id))

    def task_attempted(self, task_id: str, reason: str) -> None:
        """Journal hook: a fetch went nowhere; after `MAX_ATTEMPTS` the task is
        ``abandoned``."""
        self._mark(
            "UPDATE images SET attempts=attempts+1, error=?, status=CASE WHEN attempts+1>=? "
            "THEN 'abandoned' ELSE status END WHERE task_id=? AND status='submitted'",
            (reason, MAX_ATTEMPTS, task_id),
        )

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
                self._record_completed(made, path)
            count += 1
        return count

    # --- reading (the index's: `entry`, `lookup`, `pending`, `find`, ``len``) --------------------

    def stored(self, request: GenerationRequest, *, real_only: bool = False) -> Generation | None:
        """Journal hook: the image already made for exactly this request, from disk:
        this gallery's own, else a lesson pack's (``packs``, or the attached ones); a real
        image before a stand-in, and with ``real_only`` never a stand-in."""
        found = self.lookup(request, real_only=real_only)
        if found is None:
            return stored_in_packs(self.packs, request, real_only=real_only)
        if found.simulated:  # a pack's real image beats the gallery's stand-in
            packed = stored_in_packs(self.packs, request, real_only=True)
            if packed is not None:
                return packed
        return self.load(found)

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
