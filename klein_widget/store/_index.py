"""The gallery's SQLite index: one row per accepted task, in ``index.sqlite3`` (WAL).

A row is inserted as ``submitted`` when the server accepts a task and moves on to
``completed`` (with the image's path, relative to the gallery folder), ``failed`` (the
task ended without an image) or ``abandoned`` (`MAX_ATTEMPTS` fetches went nowhere).
``submitted_at`` and ``completed_at`` are one fixed ISO format in UTC, so text order is
time order in SQL.

`GalleryIndex` raises on any database error: deciding that a broken index must not
crash a generation is the `Gallery`'s job, not this module's.

Example:
    >>> index = GalleryIndex(Path("klein-outputs"))  # doctest: +SKIP
    >>> index.find(prompt="fox", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path

from klein_widget.client._generation import Generation
from klein_widget.client._models import ENHANCER_MODEL_ID, GenerationRequest, Prediction
from klein_widget.store._entry import GalleryEntry, entry_from_row
from klein_widget.store._schema import SCHEMA, created, migrate, now, stamp, task_columns

__all__ = ["INDEX_NAME", "MAX_ATTEMPTS", "GalleryIndex"]

INDEX_NAME = "index.sqlite3"
MAX_ATTEMPTS = 3  # resume gives up on a task after this many fetches that went nowhere


def _connect(index: Path) -> sqlite3.Connection:
    # One short-lived connection per operation: safe across threads and forked processes.
    db = sqlite3.connect(index, timeout=30.0, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA synchronous=NORMAL")
    return db


# Read-only connections create nothing, so a read-only gallery can be read. A WAL database
# in a folder we may not write needs ``immutable`` (no -shm file can be made): tried second.
_READ_MODES = ("mode=ro", "immutable=1")


class GalleryIndex:
    """The ``images`` table of the gallery in ``folder``; paths in it are relative to ``folder``.

    Made on first write; reading a gallery that does not exist yet finds nothing.

    Example:
        >>> GalleryIndex(Path("klein-outputs")).file.name
        'index.sqlite3'
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / INDEX_NAME
        self._ready = False
        self._lock = threading.Lock()
        self.unreadable: dict[str, str] = {}  # task id -> why its row was skipped

    def exists(self) -> bool:
        """Whether the index file is there (reading never creates it)."""
        return self.file.exists()

    def _ensure(self) -> None:
        # Re-checked each time: someone may have deleted the folder since.
        if self._ready and self.exists():
            return
        with self._lock:
            if self._ready and self.exists():
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            for attempt in range(50):  # WAL switching needs a moment alone with the file
                try:
                    with closing(_connect(self.file)) as db:
                        db.execute("PRAGMA journal_mode=WAL")
                        db.executescript(SCHEMA)
                        migrate(db)
                    break
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or attempt == 49:
                        raise
                    time.sleep(0.02)
            self._ready = True

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self._ensure()
        with closing(_connect(self.file)) as db:
            yield db

    # --- writing -------------------------------------------------------------------------------

    def record_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        """Insert an accepted task as ``submitted`` (a row already there is left alone)."""
        self._execute(
            "INSERT INTO images (task_id, status, prompt, width, height, seed, "
            "sync_mode, base64_output, model, origin, recipe, family, submitted_at, "
            "created_at, simulated) VALUES (?, 'submitted', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(task_id) DO NOTHING",
            (
                *task_columns(request, prediction),
                now(),
                created(prediction),
                prediction.simulated,  # as the server said on accepting it (None: not said)
            ),
        )

    def record_completed(self, generation: Generation, path: Path) -> None:
        """Mark the task ``completed`` with its image at ``path`` (inserting it if unknown)."""
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
                *task_columns(generation.request, prediction, generation.size),
                now(),
                now(),
                created(prediction),
                prediction.inference_ms,
                generation.elapsed,
                generation.cost,
                int(generation.nsfw),
                str(path.relative_to(self.folder)),
                int(generation.simulated),
                generation.service,
            ),
        )

    def mark_failed(self, task_id: str, reason: str) -> None:
        """The task ended without an image: never try to fetch it again."""
        self._execute(
            "UPDATE images SET status='failed', error=? WHERE task_id=?", (reason, task_id)
        )

    def mark_attempt(self, task_id: str, reason: str) -> None:
        """A fetch went nowhere; after `MAX_ATTEMPTS` the task is ``abandoned``."""
        self._execute(
            "UPDATE images SET attempts=attempts+1, error=?, status=CASE WHEN attempts+1>=? "
            "THEN 'abandoned' ELSE status END WHERE task_id=? AND status='submitted'",
            (reason, MAX_ATTEMPTS, task_id),
        )

    def _execute(self, sql: str, args: tuple[object, ...]) -> None:
        with self._db() as db:
            db.execute(sql, args)

    # --- reading -------------------------------------------------------------------------------

    def _rows(self, sql: str, args: tuple[object, ...]) -> list[sqlite3.Row]:
        if not self.exists():  # reading never creates the folder
            return []
        uri = self.file.absolute().as_uri()
        for mode in _READ_MODES:
            try:
                with closing(sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=30.0)) as db:
                    db.row_factory = sqlite3.Row
                    return db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):  # created, never written
                    return []
                if mode == _READ_MODES[-1]:
                    raise
        return []  # not reached: the last mode returns or raises

    def _select(self, where: str, args: tuple[object, ...], tail: str = "") -> list[GalleryEntry]:
        entries = []
        for row in self._rows(f"SELECT * FROM images WHERE {where} {tail}", args):
            try:
                entries.append(entry_from_row(row, self.folder))
            except (ValueError, TypeError, KeyError) as error:  # a row no request can be
                self.unreadable[str(row["task_id"])] = str(error)
        return entries

    def entry(self, task_id: str) -> GalleryEntry | None:
        """The row for one task, or None."""
        found = self._select("task_id=?", (task_id,))
        return found[0] if found else None

    def _same_recipe(
        self, status: str, request: GenerationRequest, order: str
    ) -> list[GalleryEntry]:
        # The indexed columns narrow the rows; the one key (`recipe_key`) decides.
        key = request.key
        where = f"status='{status}' AND prompt=? AND seed=?"
        args: tuple[object, ...] = (request.prompt, request.seed)
        if request.width is not None:  # an edit that kept its image's size: any size
            where += " AND width=? AND height=?"
            args += (request.width, request.height)
        found = self._select(where, args, f"ORDER BY {order} DESC")
        return [entry for entry in found if entry.recipe_key == key]

    def lookup(self, request: GenerationRequest, *, real_only: bool = False) -> GalleryEntry | None:
        """The newest completed image of exactly this recipe whose file exists, a real one
        before a stand-in (``real_only``: never a stand-in or an image of unknown origin)."""
        there = [
            entry
            for entry in self._same_recipe("completed", request, "completed_at")
            if entry.path is not None and entry.path.exists()
        ]
        real = [entry for entry in there if not entry.simulated]
        chosen = real or ([] if real_only else there)
        return chosen[0] if chosen else None

    def lookup_pending(self, request: GenerationRequest, origin: str) -> GalleryEntry | None:
        """The newest ``submitted`` task for this recipe from ``origin``
        (or from an unrecorded origin)."""
        for entry in self._same_recipe("submitted", request, "submitted_at"):
            # An unrecorded origin is taken only for a real task: a stand-in's task id is
            # never asked of another server.
            if entry.origin == origin or (not entry.origin and not entry.simulated):
                return entry
        return None

    def pending(self) -> list[GalleryEntry]:
        """``submitted`` image tasks, oldest first (a prompt optimizer's task, which older
        versions journaled too, is no image: never pending)."""
        return self._select(
            "status='submitted' AND model!=?", (ENHANCER_MODEL_ID,), "ORDER BY submitted_at"
        )

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
            args.append(stamp(since))
        if until is not None:
            where.append("completed_at<?")
            args.append(stamp(until))
        tail = "ORDER BY completed_at DESC"
        if limit is not None:
            tail += f" LIMIT {max(0, int(limit))}"
        return self._select(" AND ".join(where), tuple(args), tail)

    def count(self) -> int:
        """How many completed images the index holds."""
        rows = self._rows("SELECT count(*) FROM images WHERE status='completed'", ())
        return int(rows[0][0]) if rows else 0
