"""The gallery: every image paid for, on disk with its parameters, indexed in SQLite.

```
klein-outputs/
  index.sqlite3                          one row per accepted task (WAL: many writers)
  2026-11-24/153012-a-red-fox-42.png     the image as served, parameters embedded
```

`Gallery` is the clients' `Journal`: a row is written when the server accepts a task
(so `klein_widget.resume()` can fetch it after a kernel restart) and completed with the
image's path once it is downloaded. Nothing here may crash a generation: a full disk or
an unwritable folder warns once and the image is still returned.

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
import sqlite3
import threading
import time
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from typing import Any, Literal, Union
from urllib.parse import urlsplit

from klein_widget._generation import Generation
from klein_widget._metadata import detect_format, embed_params
from klein_widget._models import GenerationRequest, MadeFromRequest, Prediction

__all__ = [
    "DEFAULT_FOLDER",
    "GALLERY_ENV",
    "Gallery",
    "GalleryEntry",
    "GalleryOption",
    "resolve_gallery",
]

DEFAULT_FOLDER = "klein-outputs"
GALLERY_ENV = "KLEIN_GALLERY"
INDEX_NAME = "index.sqlite3"
MAX_ATTEMPTS = 3  # resume gives up on a task after this many fetches that went nowhere
_OFF_WORDS = frozenset({"off", "none", "false", "no", "0"})
_SUFFIXES = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}

EntryStatus = Literal["submitted", "completed", "failed", "abandoned"]
GalleryOption = Union["Gallery", str, "PathLike[str]", bool, None]
"""What ``gallery=`` accepts: a folder, a `Gallery`, False/None (off), True (the default)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    task_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    prompt TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    sync_mode INTEGER NOT NULL DEFAULT 0,
    base64_output INTEGER NOT NULL DEFAULT 0,
    model TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',
    submitted_at TEXT,
    completed_at TEXT,
    created_at TEXT,
    inference_ms INTEGER,
    elapsed REAL,
    cost REAL,
    nsfw INTEGER NOT NULL DEFAULT 0,
    path TEXT,
    error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS images_key ON images (prompt, width, height, seed);
CREATE INDEX IF NOT EXISTS images_status ON images (status, submitted_at);
CREATE INDEX IF NOT EXISTS images_completed ON images (completed_at);
"""


def _now() -> str:
    # One fixed ISO format in UTC, so text order is time order in SQL.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _parse(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def url_origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


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


def _task_columns(request: GenerationRequest, prediction: Prediction) -> tuple[Any, ...]:
    """task_id, prompt, width, height, seed, sync_mode, base64_output, model, origin."""
    return (
        prediction.id,
        request.prompt,
        request.width,
        request.height,
        request.seed,
        int(request.sync_mode),
        int(request.base64_output),
        prediction.model,
        url_origin(prediction.urls.get("get", "")),
    )


def _created(prediction: Prediction) -> str | None:
    return prediction.created_at.isoformat() if prediction.created_at else None


@dataclass(frozen=True)
class GalleryEntry(MadeFromRequest):
    """One row of the gallery index: a task, its parameters, and (once done) its file.

    Example:
        >>> entry = klein_widget.history(limit=1)[0]  # doctest: +SKIP
        >>> KleinClient().generate(**entry.params())  # doctest: +SKIP
    """

    task_id: str
    status: EntryStatus
    request: GenerationRequest
    model: str
    origin: str
    submitted_at: datetime | None
    completed_at: datetime | None
    created_at: datetime | None
    inference_ms: int | None
    elapsed: float | None
    cost: float | None
    nsfw: bool
    path: Path | None
    error: str
    attempts: int

    @property
    def time(self) -> datetime | None:
        """When the image arrived (or, if it has not, when the task was accepted)."""
        return self.completed_at or self.submitted_at

    def params(self) -> dict[str, Any]:
        """Keyword arguments that regenerate this image: ``client.generate(**e.params())``."""
        r = self.request
        return {"prompt": r.prompt, "width": r.width, "height": r.height, "seed": r.seed}


def _connect(index: Path) -> sqlite3.Connection:
    # One short-lived connection per operation: safe across threads and forked processes.
    db = sqlite3.connect(index, timeout=30.0, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA synchronous=NORMAL")
    return db


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
        self._ready = False
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._warned = False

    @classmethod
    def default(cls) -> Gallery | None:
        """The gallery ``$KLEIN_GALLERY`` names (a folder, or ``off``), else ``./klein-outputs``."""
        return resolve_gallery(True)

    @property
    def index_path(self) -> Path:
        """The SQLite index file."""
        return self.path / INDEX_NAME

    def __repr__(self) -> str:
        return f"Gallery({str(self.path)!r})"

    # --- plumbing ----------------------------------------------------------------------------

    def _ensure(self) -> None:
        # Re-checked each time: someone may have deleted the folder since.
        if self._ready and self.index_path.exists():
            return
        with self._lock:
            if self._ready and self.index_path.exists():
                return
            self.path.mkdir(parents=True, exist_ok=True)
            for attempt in range(50):  # WAL switching needs a moment alone with the file
                try:
                    with closing(_connect(self.index_path)) as db:
                        db.execute("PRAGMA journal_mode=WAL")
                        db.executescript(_SCHEMA)
                    break
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or attempt == 49:
                        raise
                    time.sleep(0.02)
            self._ready = True

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self._ensure()
        with closing(_connect(self.index_path)) as db:
            yield db

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

    def _existing(self) -> bool:
        return self.index_path.exists()

    # --- the Journal protocol ------------------------------------------------------------------

    def task_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        """Record an accepted task so a restarted kernel can still fetch it."""
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO images (task_id, status, prompt, width, height, seed, "
                    "sync_mode, base64_output, model, origin, submitted_at, created_at) "
                    "VALUES (?, 'submitted', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(task_id) DO NOTHING",
                    (*_task_columns(request, prediction), _now(), _created(prediction)),
                )
        except Exception as error:  # the task is accepted; losing the row must not lose it
            self._warn("record an accepted task", error)

    def task_completed(self, generation: Generation) -> Generation:
        """Write the image (parameters embedded) and index it; returns it with ``path`` set."""
        try:
            with self._write_lock:  # resume and a batch may both fetch one task: save it once
                known = self.entry(generation.task_id) if self._existing() else None
                if known is not None and known.path is not None and known.path.exists():
                    return dataclasses.replace(generation, path=known.path)
                path = self._write_file(generation)
                self._index_completed(generation, path)
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

    def _index_completed(self, generation: Generation, path: Path) -> None:
        prediction = generation.prediction
        with self._db() as db:
            db.execute(
                "INSERT INTO images (task_id, status, prompt, width, height, seed, sync_mode, "
                "base64_output, model, origin, submitted_at, completed_at, created_at, "
                "inference_ms, elapsed, cost, nsfw, path) "
                "VALUES (?, 'completed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(task_id) DO UPDATE SET status='completed', "
                "completed_at=excluded.completed_at, "
                "created_at=coalesce(excluded.created_at, created_at), "
                "inference_ms=excluded.inference_ms, elapsed=excluded.elapsed, "
                "cost=excluded.cost, nsfw=excluded.nsfw, path=excluded.path, "
                "model=excluded.model, error=''",
                (
                    *_task_columns(generation.request, prediction),
                    _now(),
                    _now(),
                    _created(prediction),
                    prediction.inference_ms,
                    generation.elapsed,
                    generation.cost,
                    int(generation.nsfw),
                    str(path.relative_to(self.path)),
                ),
            )

    def mark_failed(self, task_id: str, reason: str) -> None:
        """The task ended without an image: never try to fetch it again."""
        self._update(task_id, "UPDATE images SET status='failed', error=? WHERE task_id=?", reason)

    def mark_attempt(self, task_id: str, reason: str) -> None:
        """A fetch went nowhere; after `MAX_ATTEMPTS` the task is ``abandoned``."""
        self._update(
            task_id,
            "UPDATE images SET attempts=attempts+1, error=?, status=CASE WHEN attempts+1>=? "
            "THEN 'abandoned' ELSE status END WHERE task_id=? AND status='submitted'",
            reason,
            MAX_ATTEMPTS,
        )

    def _update(self, task_id: str, sql: str, *args: object) -> None:
        try:
            with self._db() as db:
                db.execute(sql, (*args, task_id))
        except Exception as error:
            self._warn("update a task", error)

    # --- reading ---------------------------------------------------------------------------------

    def _entry(self, row: sqlite3.Row) -> GalleryEntry:
        request = GenerationRequest(
            row["prompt"],
            row["width"],
            row["height"],
            row["seed"],
            bool(row["sync_mode"]),
            bool(row["base64_output"]),
        )
        return GalleryEntry(
            task_id=row["task_id"],
            status=row["status"],
            request=request,
            model=row["model"],
            origin=row["origin"],
            submitted_at=_parse(row["submitted_at"]),
            completed_at=_parse(row["completed_at"]),
            created_at=_parse(row["created_at"]),
            inference_ms=row["inference_ms"],
            elapsed=row["elapsed"],
            cost=row["cost"],
            nsfw=bool(row["nsfw"]),
            path=self.path / row["path"] if row["path"] else None,
            error=row["error"],
            attempts=row["attempts"],
        )

    def _select(self, where: str, args: tuple[object, ...], tail: str = "") -> list[GalleryEntry]:
        if not self._existing():  # reading never creates the folder
            return []
        with self._db() as db:
            rows = db.execute(f"SELECT * FROM images WHERE {where} {tail}", args).fetchall()
        return [self._entry(row) for row in rows]

    def entry(self, task_id: str) -> GalleryEntry | None:
        """The row for one task, or None."""
        found = self._select("task_id=?", (task_id,))
        return found[0] if found else None

    def lookup(self, request: GenerationRequest) -> GalleryEntry | None:
        """The newest completed image of exactly this prompt, size and seed whose file exists."""
        for entry in self._select(
            "status='completed' AND prompt=? AND width=? AND height=? AND seed=?",
            request.key,
            "ORDER BY completed_at DESC",
        ):
            if entry.path is not None and entry.path.exists():
                return entry
        return None

    def lookup_pending(self, request: GenerationRequest, origin: str) -> GalleryEntry | None:
        """An accepted (paid) task for this prompt, size and seed on the server at ``origin``
        whose image never arrived: fetch it rather than pay again."""
        for entry in self._select(
            "status='submitted' AND prompt=? AND width=? AND height=? AND seed=?",
            request.key,
            "ORDER BY submitted_at DESC",
        ):
            if not entry.origin or entry.origin == origin:
                return entry
        return None

    def pending(self) -> list[GalleryEntry]:
        """Accepted tasks whose image never arrived (oldest first): what `resume` fetches."""
        return self._select("status='submitted'", (), "ORDER BY submitted_at")

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
        where: list[str] = ["status='completed'"]
        args: list[object] = []
        if prompt:
            escaped = prompt.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("prompt LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        if seed is not None:
            where.append("seed=?")
            args.append(seed)
        if size is not None:
            where += ["width=?", "height=?"]
            args += [size[0], size[1]]
        if since is not None:
            where.append("completed_at>=?")
            args.append(since.astimezone(timezone.utc).isoformat(timespec="microseconds"))
        if until is not None:
            where.append("completed_at<?")
            args.append(until.astimezone(timezone.utc).isoformat(timespec="microseconds"))
        tail = "ORDER BY completed_at DESC"
        if limit is not None:
            tail += f" LIMIT {max(0, int(limit))}"
        return self._select(" AND ".join(where), tuple(args), tail)

    def __len__(self) -> int:
        if not self._existing():
            return 0
        with self._db() as db:
            (count,) = db.execute("SELECT count(*) FROM images WHERE status='completed'").fetchone()
        return int(count)

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
