"""The gallery's SQLite index: one row per accepted task, in ``index.sqlite3`` (WAL).

`GalleryIndex` makes the table on first write (an index from an older release gets the
columns added since) and reads it; ``submitted_at`` and ``completed_at`` are one fixed ISO
format in UTC (`stamp`), so text order is time order in SQL. `Gallery`
(`klein_widget.store._gallery`), the journal, writes the rows (their statuses are told
there) and the image files. Nothing paid for may vanish silently, and a broken index must
crash neither a generation nor a read: what fails warns (`GalleryIndex._warn`: the
gallery, what failed, what to do) and a read then finds nothing; a row no request can be
made from is skipped and named in a warning, once.

Example:
    >>> index = GalleryIndex(Path("klein-outputs"))  # doctest: +SKIP
    >>> index.find(prompt="fox", limit=5)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
import warnings
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from klein_widget.client._models import ENHANCER_MODEL_ID, GenerationRequest
from klein_widget.store._entry import GalleryEntry, entry_from_row

__all__ = ["INDEX_NAME", "GalleryIndex", "stamp"]

INDEX_NAME = "index.sqlite3"

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
    attempts INTEGER NOT NULL DEFAULT 0,
    recipe TEXT,
    simulated INTEGER,
    service TEXT NOT NULL DEFAULT '',
    family TEXT
);
CREATE INDEX IF NOT EXISTS images_key ON images (prompt, width, height, seed);
CREATE INDEX IF NOT EXISTS images_status ON images (status, submitted_at);
CREATE INDEX IF NOT EXISTS images_completed ON images (completed_at);
"""


# Columns added after the first release: an older index gets them on its first write, and
# its rows read with their provenance inferred (`klein_widget.store._entry.infer_provenance`).
# ``simulated`` NULL means "not recorded"; ``recipe`` NULL means "compute it from the row";
# ``family`` (JSON: `family_params`) NULL means 4B text-to-image, all there was before it.
_ADDED = {
    "recipe": "TEXT",
    "simulated": "INTEGER",
    "service": "TEXT NOT NULL DEFAULT ''",
    "family": "TEXT",
}


def _migrate(db: sqlite3.Connection) -> None:
    have = {row[1] for row in db.execute("PRAGMA table_info(images)")}
    for name, kind in _ADDED.items():
        if name not in have:
            db.execute(f"ALTER TABLE images ADD COLUMN {name} {kind}")


def stamp(moment: datetime) -> str:
    """One fixed ISO format in UTC, so text order is time order in SQL.

    Example:
        >>> stamp(datetime(2026, 1, 2, tzinfo=timezone.utc))
        '2026-01-02T00:00:00.000000+00:00'
    """
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _connect(index: Path) -> sqlite3.Connection:
    # One short-lived connection per operation: safe across threads and forked processes.
    db = sqlite3.connect(index, timeout=30.0, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA synchronous=NORMAL")
    return db


_STORE = os.path.dirname(__file__) + os.sep


def _outside_store() -> int:
    # The stack level of the store's first caller outside it, where a warning points (as
    # Python 3.12's ``skip_file_prefixes``): the line that called the gallery.
    level, frame = 1, sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_STORE):
        level, frame = level + 1, frame.f_back
    return level


# Read-only connections create nothing, so a read-only gallery can be read. A WAL database
# in a folder we may not write needs ``immutable`` (no -shm file can be made): tried second.
_READ_MODES = ("mode=ro", "immutable=1")


class GalleryIndex:
    """The ``images`` table of the gallery at ``path``; paths in it are relative to ``path``.

    Made on first write; reading a gallery that does not exist yet finds nothing, and a
    read never raises (see the module's docstring).

    Example:
        >>> GalleryIndex(Path("klein-outputs")).index_path.name
        'index.sqlite3'
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.index_path = path / INDEX_NAME
        self._ready = False
        self._lock = threading.Lock()
        self._reported: set[str] = set()  # unreadable rows already named in a warning

    def _warn(self, doing: str, error: BaseException) -> None:
        # Every time, naming what it was about: a paid image must never vanish silently.
        warnings.warn(
            f"klein-widget could not {doing} in the gallery at {self.path} "
            f"({type(error).__name__}: {error}). Images are still returned: save them with "
            "gen.save(path), or point gallery=... / $KLEIN_GALLERY at a writable folder "
            "(or 'off'); Gallery(path).rebuild_index() remakes a broken index from the files.",
            RuntimeWarning,
            stacklevel=_outside_store(),
        )

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
                        _migrate(db)
                    break
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) or attempt == 49:
                        raise
                    time.sleep(0.02)
            self._ready = True

    def _execute(self, sql: str, args: tuple[object, ...]) -> None:
        """Write: one statement, the table made first if need be. Raises on any error."""
        self._ensure()
        with closing(_connect(self.index_path)) as db:
            db.execute(sql, args)

    # --- reading -------------------------------------------------------------------------------

    def _rows(self, sql: str, args: tuple[object, ...]) -> list[sqlite3.Row]:
        if not self.index_path.exists():  # reading never creates the folder
            return []
        uri = self.index_path.absolute().as_uri()
        for mode in _READ_MODES:
            try:
                with closing(sqlite3.connect(f"{uri}?{mode}", uri=True, timeout=30.0)) as db:
                    db.row_factory = sqlite3.Row
                    return db.execute(sql, args).fetchall()
            except sqlite3.Error as error:
                if "no such table" in str(error):  # created, never written
                    return []
                if isinstance(error, sqlite3.OperationalError) and mode != _READ_MODES[-1]:
                    continue  # the next mode may open it
                self._warn("read the index", error)
                return []
        return []  # not reached: the last mode returns

    def _select(self, where: str, args: tuple[object, ...], tail: str = "") -> list[GalleryEntry]:
        entries, unreadable = [], {}
        for row in self._rows(f"SELECT * FROM images WHERE {where} {tail}", args):
            try:
                entries.append(entry_from_row(row, self.path))
            except (ValueError, TypeError, KeyError) as error:  # a row no request can be
                unreadable[str(row["task_id"])] = str(error)
        fresh = {k: v for k, v in unreadable.items() if k not in self._reported}
        if fresh:
            self._reported.update(fresh)
            names = ", ".join(f"{k} ({v})" for k, v in sorted(fresh.items())[:5])
            warnings.warn(
                f"klein-widget skipped {len(fresh)} unreadable row(s) of the gallery index at "
                f"{self.index_path}: {names}. The rest of the gallery is fine.",
                RuntimeWarning,
                stacklevel=_outside_store(),
            )
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
        """The newest completed image of exactly this recipe (`recipe_key`) whose file
        exists, a real one first (``real_only``: never a stand-in or an image of unknown
        origin)."""
        there = [
            entry
            for entry in self._same_recipe("completed", request, "completed_at")
            if entry.path is not None and entry.path.exists()
        ]
        real = [entry for entry in there if not entry.simulated]
        chosen = real or ([] if real_only else there)
        return chosen[0] if chosen else None

    def unfinished_task(self, request: GenerationRequest, origin: str) -> str | None:
        """Journal hook: an accepted (paid) task for this prompt, size and seed on the
        server at ``origin`` whose image never arrived (fetch it rather than pay again)."""
        for entry in self._same_recipe("submitted", request, "submitted_at"):
            # An unrecorded origin is taken only for a real task: a stand-in's task id is
            # never asked of another server.
            if entry.origin == origin or (not entry.origin and not entry.simulated):
                return entry.task_id
        return None

    def pending(self) -> list[GalleryEntry]:
        """Accepted tasks whose image never arrived, oldest first: what `resume` fetches (a
        prompt optimizer's task, which older versions journaled too, is no image: never
        pending)."""
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
        escaped = (prompt or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        filters: list[tuple[str, object]] = [  # each applies when its value is given
            ("prompt LIKE ? ESCAPE '\\'", f"%{escaped}%" if prompt else None),
            ("seed=?", seed),
            ("width=?", size[0] if size is not None else None),
            ("height=?", size[1] if size is not None else None),
            ("completed_at>=?", stamp(since) if since is not None else None),
            ("completed_at<?", stamp(until) if until is not None else None),
        ]
        given = [(clause, value) for clause, value in filters if value is not None]
        where = " AND ".join(["status='completed'", *(clause for clause, _ in given)])
        tail = "ORDER BY completed_at DESC"
        if limit is not None:
            tail += f" LIMIT {max(0, int(limit))}"
        return self._select(where, tuple(value for _, value in given), tail)

    def __len__(self) -> int:
        """How many completed images the index holds."""
        rows = self._rows("SELECT count(*) FROM images WHERE status='completed'", ())
        return int(rows[0][0]) if rows else 0
