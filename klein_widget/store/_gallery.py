"""The gallery: every image paid for, on disk with its parameters, indexed in SQLite.

```
klein-outputs/
  index.sqlite3                          one row per accepted task (WAL: many writers)
  2026-11-24/153012-a-red-fox-42.png     the image as served, parameters embedded
```

`Gallery` is the clients' `Journal`: a row is written when the server accepts a task
(so `klein_widget.resume()` can fetch it after a kernel restart) and completed with the
image's path once it is downloaded. Nothing here may crash a generation: a full disk or
an unwritable folder warns once and the image is still returned. The index itself lives
in `klein_widget.store._index` (SQLite) and `klein_widget.store._entry` (`GalleryEntry`).

Example:
    >>> gallery = Gallery("klein-outputs")  # doctest: +SKIP
    >>> client = KleinClient(gallery=gallery)  # doctest: +SKIP
    >>> gallery.find(prompt="fox", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Union

from klein_widget.client._generation import Generation
from klein_widget.client._metadata import detect_format, embed_params
from klein_widget.client._models import GenerationRequest, Prediction
from klein_widget.store._entry import GalleryEntry
from klein_widget.store._index import GalleryIndex

__all__ = [
    "DEFAULT_FOLDER",
    "GALLERY_ENV",
    "Gallery",
    "GalleryEntry",
    "GalleryOption",
    "resolve_gallery",
    "slug",
]

DEFAULT_FOLDER = "klein-outputs"
GALLERY_ENV = "KLEIN_GALLERY"
_OFF_WORDS = frozenset({"off", "none", "false", "no", "0"})
_SUFFIXES = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}

GalleryOption = Union["Gallery", str, "PathLike[str]", bool, None]
"""What ``gallery=`` accepts: a folder, a `Gallery`, False/None (off), True (the default)."""


def slug(prompt: str, limit: int = 40) -> str:
    """A readable file-name fragment from a prompt.

    Example:
        >>> slug("A red fox, in the snow!")
        'a-red-fox-in-the-snow'
    """
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] if "-" in words[:limit] else words[:limit]
    return words or "image"


class Gallery:
    """Images on disk, their parameters embedded, indexed in ``index.sqlite3`` (WAL).

    Cheap to create: the folder and index are made on first write. Implements the
    clients' `Journal` (``task_submitted`` / ``task_completed``).

    Example:
        >>> gallery = Gallery("klein-outputs")
        >>> gallery.index_path.name
        'index.sqlite3'
    """

    def __init__(self, path: str | PathLike[str] = DEFAULT_FOLDER) -> None:
        self.path = Path(path).expanduser().absolute()
        self._index = GalleryIndex(self.path)
        self._write_lock = threading.Lock()
        self._warned = False

    @classmethod
    def default(cls) -> Gallery | None:
        """The gallery ``$KLEIN_GALLERY`` names (a folder, or ``off``), else ``./klein-outputs``."""
        return resolve_gallery(True)

    @property
    def index_path(self) -> Path:
        """The SQLite index file."""
        return self._index.file

    def __repr__(self) -> str:
        return f"Gallery({str(self.path)!r})"

    def _warn(self, doing: str, error: BaseException) -> None:
        if self._warned:
            return
        self._warned = True
        warnings.warn(
            f"klein-widget could not {doing} in the gallery at {self.path} "
            f"({type(error).__name__}: {error}). Images are still returned: save them with "
            "gen.save(path), or point gallery=... / $KLEIN_GALLERY at a writable folder "
            "(or 'off'). This warning is shown once.",
            RuntimeWarning,
            stacklevel=4,
        )

    # --- the Journal protocol ------------------------------------------------------------------

    def task_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        """Record an accepted task so a restarted kernel can still fetch it."""
        try:
            self._index.record_submitted(request, prediction)
        except Exception as error:  # the task is accepted; losing the row must not lose it
            self._warn("record an accepted task", error)

    def task_completed(self, generation: Generation) -> Generation:
        """Write the image (parameters embedded) and index it; returns it with ``path`` set."""
        try:
            with self._write_lock:  # resume and a batch may both fetch one task: save it once
                known = self._index.entry(generation.task_id)
                if known is not None and known.path is not None and known.path.exists():
                    return dataclasses.replace(generation, path=known.path)
                path = self._write_file(generation)
                self._index.record_completed(generation, path)
        except Exception as error:
            self._warn("save an image", error)
            return generation
        return dataclasses.replace(generation, path=path)

    # --- writing -------------------------------------------------------------------------------

    def _write_file(self, generation: Generation) -> Path:
        params = generation.params()
        data = embed_params(generation.image, params)
        fmt = detect_format(generation.image)
        local = datetime.now().astimezone()
        folder = self.path / local.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{local:%H%M%S}-{slug(generation.prompt)}-{generation.seed}"
        suffix = _SUFFIXES.get(fmt, ".bin")
        for n in range(1, 10_000):
            target = folder / (stem + (f"-{n}" if n > 1 else "") + suffix)
            try:
                # "x" reserves the name atomically: concurrent writers never clobber.
                with open(target, "xb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
            except FileExistsError:
                continue
            except BaseException:
                target.unlink(missing_ok=True)  # no half-written image left behind
                raise
            if fmt not in ("png", "jpeg"):  # no place inside the file: keep a sidecar
                target.with_name(target.name + ".json").write_text(json.dumps(params, indent=1))
            return target
        raise FileExistsError(f"no free file name for {stem} in {folder}")

    def mark_failed(self, task_id: str, reason: str) -> None:
        """The task ended without an image: never try to fetch it again."""
        self._update(self._index.mark_failed, task_id, reason)

    def mark_attempt(self, task_id: str, reason: str) -> None:
        """A fetch went nowhere; after `MAX_ATTEMPTS` the task is ``abandoned``."""
        self._update(self._index.mark_attempt, task_id, reason)

    def _update(self, change: Callable[[str, str], None], task_id: str, reason: str) -> None:
        # Both marks go through here, so the warning (stacklevel=4) names their caller.
        try:
            change(task_id, reason)
        except Exception as error:
            self._warn("update a task", error)

    # --- reading ---------------------------------------------------------------------------------

    def entry(self, task_id: str) -> GalleryEntry | None:
        """The row for one task, or None."""
        return self._index.entry(task_id)

    def lookup(self, request: GenerationRequest) -> GalleryEntry | None:
        """The newest completed image of exactly this prompt, size and seed whose file exists."""
        return self._index.lookup(request)

    def lookup_pending(self, request: GenerationRequest, origin: str) -> GalleryEntry | None:
        """An accepted (paid) task for this prompt, size and seed on the server at ``origin``
        whose image never arrived: fetch it rather than pay again."""
        return self._index.lookup_pending(request, origin)

    # The rest of the client's `Journal` protocol, in its words.

    def task_failed(self, task_id: str, reason: str) -> None:
        """Journal hook: the task ended without an image (`mark_failed`)."""
        self.mark_failed(task_id, reason)

    def task_attempted(self, task_id: str, reason: str) -> None:
        """Journal hook: a fetch went nowhere (`mark_attempt`)."""
        self.mark_attempt(task_id, reason)

    def stored(self, request: GenerationRequest) -> Generation | None:
        """Journal hook: the image already made for exactly this request, from disk."""
        found = self.lookup(request)
        return self.load(found) if found is not None else None

    def unfinished_task(self, request: GenerationRequest, origin: str) -> str | None:
        """Journal hook: a paid task for this request whose image never arrived."""
        found = self.lookup_pending(request, origin)
        return found.task_id if found is not None else None

    def pending(self) -> list[GalleryEntry]:
        """Accepted tasks whose image never arrived (oldest first): what `resume` fetches."""
        return self._index.pending()

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
        return self._index.find(prompt, seed=seed, size=size, since=since, until=until, limit=limit)

    def __len__(self) -> int:
        return self._index.count()

    def load(self, entry: GalleryEntry | str) -> Generation:
        """The stored image as a `Generation` (bytes from disk, parameters from the index).

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
            found.path.read_bytes(),
            elapsed=found.elapsed or 0.0,
            path=found.path,
        )


_GALLERIES: dict[Path, Gallery] = {}
_GALLERIES_LOCK = threading.Lock()


def _shared(path: str | PathLike[str]) -> Gallery:
    # One instance per folder, so "warn once" and schema setup are per folder.
    key = Path(path).expanduser().absolute()
    with _GALLERIES_LOCK:
        if key not in _GALLERIES:
            _GALLERIES[key] = Gallery(key)
        return _GALLERIES[key]


def resolve_gallery(option: GalleryOption = True) -> Gallery | None:
    """Turn a ``gallery=`` option into a `Gallery` or None (off).

    True means the default: ``$KLEIN_GALLERY`` (a folder, or ``off``), else
    ``./klein-outputs``. A string ``"off"`` turns it off too.

    Example:
        >>> resolve_gallery(False) is None
        True
    """
    if isinstance(option, Gallery):
        return option
    if option is None or option is False:
        return None
    if option is True:
        option = os.environ.get(GALLERY_ENV, "").strip() or DEFAULT_FOLDER
    if isinstance(option, str) and option.strip().lower() in _OFF_WORDS:
        return None
    return _shared(option)
