"""The class database's students, mixed into `ClassDB`: added with a token (only its hash
is kept), found by name or token, revoked, given a budget.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Any

from klein_widget.gateway._rows import Student, now_text, student_from_row
from klein_widget.gateway._tokens import new_token, token_hash

__all__ = ["StudentRecords"]


def _check_budget(budget_mills: int) -> None:
    if budget_mills < 0:
        raise ValueError("a budget cannot be negative")


class StudentRecords:
    """The students' rows (a mixin of `ClassDB`, under `TeacherRecords`)."""

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:  # ClassDB's
        raise NotImplementedError

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:  # ClassDB's
        raise NotImplementedError

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
