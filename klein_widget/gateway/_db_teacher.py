"""The class database's teacher-side records, mixed into `ClassDB`: students by number
(URLs never carry a name), a student's tasks over time, WaveSpeed's NSFW flag per image,
images the teacher hid from the class, reissued tokens, the uploads it handed out, and hand-ins.

Example:
    >>> db = ClassDB(":memory:")  # doctest: +SKIP
    >>> db.hide_image("upstream-task-id", True); db.hidden_images()  # doctest: +SKIP
    {'upstream-task-id'}
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator

from klein_widget.gateway._db_students import StudentRecords
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


def _hand_in(row: sqlite3.Row) -> HandIn:
    return HandIn(
        row["id"], row["student"], row["title"], row["images"], row["size"], row["created_at"]
    )


class TeacherRecords(StudentRecords):
    """What the dashboard reads and writes beyond budgets (a mixin of `ClassDB`)."""

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
        found: dict[str, bool] = {}
        for start in range(0, len(upstream_ids), 500):  # SQLite's limit on parameters
            part = upstream_ids[start : start + 500]
            sql = f"SELECT * FROM image_flags WHERE upstream_id IN ({','.join('?' * len(part))})"
            found.update({r["upstream_id"]: bool(r["nsfw"]) for r in self._rows(sql, tuple(part))})
        return found

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
        return [_hand_in(r) for r in rows]

    def hand_in(self, hand_in_id: str) -> HandIn | None:
        """One hand-in by id, or None."""
        rows = self._rows("SELECT * FROM hand_ins WHERE id = ?", (hand_in_id,))
        return _hand_in(rows[0]) if rows else None
