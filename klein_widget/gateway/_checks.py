"""What must be true for a gateway to take money: the class database opens, is whole and
takes writes; the image store takes a file and has room. Each check answers one sentence
(or None when all is well): ``klein gateway serve`` refuses to start on one, ``klein
gateway check`` prints them, and the gateway checks the store again before it forwards a
task, so it never charges for an image it could not keep.

Example:
    >>> store_problem(tmp / "class-images") is None  # doctest: +SKIP
    True
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import shutil
import sqlite3
import time
from os import PathLike
from pathlib import Path

__all__ = ["MIN_FREE_BYTES", "StoreWatch", "db_problem", "store_problem"]

MIN_FREE_BYTES = 200 << 20  # room for ~200 photo-weight images: a lesson's worth
CHECK_EVERY = 2.0  # seconds between two checks of the store while the class submits


def store_problem(folder: str | PathLike[str], min_free: int = MIN_FREE_BYTES) -> str | None:
    """Why the image store cannot keep images now (not writable, or under ``min_free``
    bytes free), or None."""
    path = Path(folder)
    probe = path / f".write-check-{secrets.token_hex(4)}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with probe.open("wb") as handle:
            handle.write(b"klein")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
        free = shutil.disk_usage(path).free
    except OSError as error:
        return f"the image store {path} is not writable ({error.strerror or error})"
    if free < min_free:
        return (
            f"the image store {path} has {free >> 20} MB free, under the {min_free >> 20} MB "
            "the gateway keeps in hand"
        )
    return None


def db_problem(db_path: str | PathLike[str]) -> str | None:
    """Why the class database cannot be used (corrupt, locked, read-only, a folder that
    does not exist), or None. Opens it the way the gateway does and writes nothing lasting."""
    path = Path(db_path)
    if not path.parent.is_dir():
        return f"the folder of the class database {path} does not exist"
    if not path.exists():  # made at start: its folder must take it (and its WAL files)
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return f"the folder {path.parent} is not writable: the class database goes there"
        return None
    if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK):
        return (
            f"the class database {path} is read-only: the gateway must write to it (and its folder)"
        )
    try:
        conn = sqlite3.connect(path, timeout=2.0, isolation_level=None)
    except sqlite3.Error as error:
        return f"the class database {path} cannot be opened ({error})"
    try:
        conn.execute("PRAGMA busy_timeout = 2000")
        ok = conn.execute("PRAGMA quick_check").fetchone()
        if ok is None or ok[0] != "ok":
            return f"the class database {path} is damaged ({ok[0] if ok else 'no answer'})"
        conn.execute("BEGIN IMMEDIATE")  # takes the write lock, as a charge does
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        text = str(error)
        if "locked" in text or "busy" in text:
            return f"the class database {path} is locked by another program (another gateway?)"
        if "readonly" in text or "read-only" in text:
            return f"the class database {path} is read-only: the gateway must write to it"
        return f"the class database {path} cannot be used ({text})"
    except sqlite3.DatabaseError as error:
        return f"the class database {path} is damaged or not a database ({error})"
    finally:
        conn.close()
    return None


class StoreWatch:
    """`store_problem`, checked off the event loop at most every `CHECK_EVERY` seconds (a
    classroom's worth of submits must not each write a probe file).

    Example:
        >>> watch = StoreWatch(tmp / "class-images")  # doctest: +SKIP
        >>> await watch.problem()  # doctest: +SKIP
    """

    def __init__(self, folder: str | PathLike[str]) -> None:
        self.folder = Path(folder)
        self._checked = -math.inf
        self._problem: str | None = None
        self._lock: asyncio.Lock | None = None

    async def problem(self) -> str | None:
        """Why the store cannot keep images now, or None."""
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if time.monotonic() - self._checked >= CHECK_EVERY:
                self._problem = await asyncio.to_thread(store_problem, self.folder)
                self._checked = time.monotonic()
            return self._problem
