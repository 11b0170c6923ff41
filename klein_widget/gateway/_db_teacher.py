"""The class database's records beyond the queue and the ledger, mixed into `ClassDB`:
students (added with a token, only its hash kept; found by name, token or number, since
URLs never carry a name; revoked, given a budget, reissued a token), a student's tasks over
time, WaveSpeed's NSFW flag per image, images the teacher hid from the class, the uploads
it handed out, and hand-ins.

Example:
    >>> db = ClassDB(":memory:")  # doctest: +SKIP
    >>> db.hide_image("upstream-task-id", True); db.hidden_images()  # doctest: +SKIP
    {'upstream-task-id'}
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from klein_widget.gateway._rows import (
    GatewayTask,
    HandIn,
    Student,
    now_text,
    student_from_row,
    task_from_row,
)
from klein_widget.gateway._tokens import new_token, token_hash

__all__ = ["TeacherRecords"]


def _check_budget(budget_mills: int) -> None:
    if budget_mills < 0:
        raise ValueError("a budget cannot be negative")


class TeacherRecords:
    """The students' rows and what the dashboard reads and writes (a mixin of `ClassDB`)."""

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:  # ClassDB's
        raise NotImplementedError

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:  # ClassDB's
        raise NotImplementedError

    def _rows_in(self, sql: str, ids: list[str]) -> list[sqlite3.Row]:
        """The rows of ``sql``, which ends in ``IN``, for ``ids`` (500 at a time: SQLite's
        limit on parameters)."""
        rows: list[sqlite3.Row] = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows += self._rows(f"{sql} ({','.join('?' * len(part))})", tuple(part))
        return rows

    # --- students -----------------------------------------------------------------------

    def add_student(self, name: str, budget_mills: int) -> str:
        """Add a student; returns the token (only its hash is stored). Raises `ValueError`
        if the name is taken or empty."""
        name = name.strip()
        if not name or len(name) > 100 or not name.isprintable():
            raise ValueError(f"a student's name must be 1-100 printable characters: {name!r}")
        _check_budget(budget_mills)
        token = new_token()
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO students (name, token_hash, budget_mills, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (name, token_hash(token), budget_mills, now_text()),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"there is already a student called {name!r}") from None
        return token

    def students(self) -> list[Student]:
        """Every student, by name."""
        return [student_from_row(r) for r in self._rows("SELECT * FROM students ORDER BY name")]

    def student(self, name: str) -> Student | None:
        """One student by name, or None."""
        rows = self._rows("SELECT * FROM students WHERE name = ?", (name,))
        return student_from_row(rows[0]) if rows else None

    def student_by_token(self, token: str) -> Student | None:
        """The student holding ``token`` (revoked ones too), found by the token's hash."""
        rows = self._rows("SELECT * FROM students WHERE token_hash = ?", (token_hash(token),))
        return student_from_row(rows[0]) if rows else None

    def _update_student(self, name: str, sql: str, args: tuple[Any, ...]) -> None:
        with self._write() as db:
            if db.execute(sql, (*args, name)).rowcount == 0:
                raise KeyError(f"there is no student called {name!r}")

    def revoke(self, name: str) -> None:
        """The student's token stops working at once (spend and images are kept)."""
        self._update_student(name, "UPDATE students SET revoked = 1 WHERE name = ?", ())

    def set_budget(self, name: str, budget_mills: int) -> None:
        """Set a student's budget (spend so far stays)."""
        _check_budget(budget_mills)
        sql = "UPDATE students SET budget_mills = ? WHERE name = ?"
        self._update_student(name, sql, (budget_mills,))

    # --- students by number -------------------------------------------------------------

    def student_ids(self) -> dict[str, int]:
        """Each student's number (SQLite's rowid): what the dashboard's URLs carry, so a
        name with ``/``, ``?`` or ``%`` in it never has to be put in a path."""
        return {r["name"]: int(r["rowid"]) for r in self._rows("SELECT rowid, name FROM students")}

    def student_by_id(self, number: int) -> Student | None:
        """The student with this number, or None."""
        rows = self._rows("SELECT * FROM students WHERE rowid = ?", (number,))
        return student_from_row(rows[0]) if rows else None

    def reissue(self, name: str) -> str:
        """A new token for ``name``; the old one stops working at once (the same row, so
        spend, budget and images stay). A revoked student is let back in. Returns the token."""
        token = new_token()
        sql = "UPDATE students SET token_hash = ?, revoked = 0 WHERE name = ?"
        self._update_student(name, sql, (token_hash(token),))
        return token

    # --- tasks over time ----------------------------------------------------------------

    def tasks_of(self, student: str, limit: int = 500) -> list[GatewayTask]:
        """A student's tasks, newest first."""
        sql = "SELECT * FROM tasks WHERE student = ? ORDER BY seq DESC LIMIT ?"
        return [task_from_row(r) for r in self._rows(sql, (student, limit))]

    def task_pages(self, size: int = 500) -> Iterator[list[GatewayTask]]:
        """Every task of the class, oldest first (for the CSV), ``size`` at a time."""
        seq = 0
        while True:
            sql = "SELECT * FROM tasks WHERE seq > ? ORDER BY seq LIMIT ?"
            rows = self._rows(sql, (seq, size))
            if not rows:
                return
            yield [task_from_row(row) for row in rows]
            seq = rows[-1]["seq"]

    def gallery(self, limit: int = 60) -> list[GatewayTask]:
        """The class's completed images, newest first."""
        sql = (
            "SELECT * FROM tasks WHERE status = 'completed' AND kind = 'image' "
            "ORDER BY seq DESC LIMIT ?"
        )
        return [task_from_row(r) for r in self._rows(sql, (limit,))]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per student: images made, from the cache, failed, waiting."""
        rows = self._rows(
            "SELECT student, SUM(status = 'completed' AND kind = 'image') AS images, "
            "SUM(cached) AS cached, SUM(status = 'failed') AS failed, "
            "SUM(status IN ('queued', 'forwarding', 'submitted', 'following', 'pending')) "
            "AS waiting "
            "FROM tasks GROUP BY student"
        )
        return {r["student"]: {k: int(r[k] or 0) for k in r.keys()[1:]} for r in rows}

    def reserved_mills(self) -> int:
        """What the class was charged at unconfirmed prices (the family's highest known
        price, reserved for a model WaveSpeed publishes no price for)."""
        sql = "SELECT SUM(cost_mills) AS s FROM tasks WHERE kind = 'image' AND price_confirmed = 0"
        return int(self._rows(sql)[0]["s"] or 0)

    # --- WaveSpeed's flags, and images hidden from the class -----------------------------

    def nsfw_flags(self, upstream_ids: list[str]) -> dict[str, bool]:
        """The stored ``has_nsfw_contents`` of these images (those known so far)."""
        rows = self._rows_in("SELECT * FROM image_flags WHERE upstream_id IN", upstream_ids)
        return {r["upstream_id"]: bool(r["nsfw"]) for r in rows}

    def record_nsfw_flags(self, flags: dict[str, bool]) -> None:
        """Store images' flags (an image's flag never changes once it is made)."""
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO image_flags (upstream_id, nsfw) VALUES (?, ?)",
                [(upstream_id, int(nsfw)) for upstream_id, nsfw in flags.items()],
            )

    def hide_image(self, upstream_id: str, hidden: bool) -> None:
        """Hide an image (by its upstream task id: every task sharing it) from the class's
        store and exports, or show it again."""
        with self._write() as db:
            if hidden:
                db.execute(
                    "INSERT OR IGNORE INTO hidden_images (upstream_id, hidden_at) VALUES (?, ?)",
                    (upstream_id, now_text()),
                )
            else:
                db.execute("DELETE FROM hidden_images WHERE upstream_id = ?", (upstream_id,))

    def hidden_images(self) -> set[str]:
        """The upstream task ids of every image the teacher hid."""
        return {r["upstream_id"] for r in self._rows("SELECT upstream_id FROM hidden_images")}

    def is_hidden(self, upstream_id: str | None) -> bool:
        """Whether the teacher hid this image."""
        sql = "SELECT 1 FROM hidden_images WHERE upstream_id = ?"
        return bool(upstream_id) and bool(self._rows(sql, (upstream_id,)))

    # --- uploads the gateway handed out ------------------------------------------------

    def record_upload(self, url: str, student: str) -> None:
        """Remember a ``download_url`` this gateway handed out (to ``student``)."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO uploads (url, student, issued_at) VALUES (?, ?, ?)",
                (url, student, now_text()),
            )

    def upload(self, url: str) -> tuple[bool, str | None]:
        """(whether this gateway handed ``url`` out, its file's sha256 once read)."""
        rows = self._rows("SELECT sha256 FROM uploads WHERE url = ?", (url,))
        return (True, rows[0]["sha256"]) if rows else (False, None)

    def set_upload_hash(self, url: str, sha256: str) -> None:
        """Keep the sha256 of an issued upload's file (an upload's URL never changes what
        it serves)."""
        with self._write() as db:
            db.execute("UPDATE uploads SET sha256 = ? WHERE url = ?", (sha256, url))

    # --- hand-ins -----------------------------------------------------------------------

    def add_hand_in(self, student: str, title: str, images: int, size: int) -> HandIn:
        """Record a hand-in (its file is written by the caller under the returned id)."""
        hand_in = HandIn(secrets.token_hex(16), student, title[:200], images, size, now_text())
        with self._write() as db:
            db.execute(
                "INSERT INTO hand_ins (id, student, title, images, size, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (hand_in.id, student, hand_in.title, images, size, hand_in.created_at),
            )
        return hand_in

    def hand_ins(self, student: str | None = None) -> list[HandIn]:
        """Hand-ins, newest first (one student's, or the class's)."""
        where, args = ("WHERE student = ?", (student,)) if student is not None else ("", ())
        rows = self._rows(f"SELECT * FROM hand_ins {where} ORDER BY created_at DESC", args)
        return [HandIn(**r) for r in rows]  # its columns are its fields

    def hand_in(self, hand_in_id: str) -> HandIn | None:
        """One hand-in by id, or None."""
        rows = self._rows("SELECT * FROM hand_ins WHERE id = ?", (hand_in_id,))
        return HandIn(**rows[0]) if rows else None
