"""The gateway's SQLite database (WAL): students, the ledger of tasks, the queue, settings.

One row per student (budget and spend in mills, thousandths of a dollar, so sums are
exact) and one row per task a student asked for. A task's row is its place in the queue
(``seq``), its journal entry (``status``: queued → forwarding → submitted → completed or
failed; ``forwarding`` is written *before* the submit is sent, so a restart knows it may
have reached upstream) and its line in the ledger (``cost_mills``). Images live in the
gateway's gallery (`klein_widget.store.Gallery`), keyed by the upstream task id.

The charge and the task row are written in one transaction, with the budget check in the
same UPDATE, so concurrent submits can never spend past a budget.

`DBThread` is the one thread the database work runs on, so no SQLite call (a ``BEGIN
IMMEDIATE`` may wait up to its 10 s busy timeout, a slow disk makes every call slow) ever
stalls the event loop that serves the whole class. One thread, not a pool: calls run in the
order they were made, so a task's "submitted" is always written before its "completed", and
SQLite sees one writer.

Example:
    >>> db = ClassDB(":memory:")
    >>> token = db.add_student("ada", 2000)
    >>> db.student_by_token(token).name
    'ada'
    >>> run = DBThread()
    >>> import asyncio
    >>> asyncio.run(run(db.student, "ada")).budget_mills
    2000
    >>> run.close()
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from os import PathLike
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from klein_widget.client._models import GenerationRequest
from klein_widget.gateway._db_teacher import TeacherRecords
from klein_widget.gateway._rows import (
    TASK_UPDATES,
    GatewayTask,
    Inputs,
    Student,
    TaskUpdate,
    now_text,
    task_from_row,
)
from klein_widget.gateway._schema import CLASS_SCHEMA, add_family_columns

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["ClassDB", "DBThread", "GatewayTask", "Student"]

P = ParamSpec("P")
T = TypeVar("T")


class ClassDB(TeacherRecords):
    """The database of one class (a file, or ``":memory:"`` for doctests).

    Example:
        >>> db = ClassDB(":memory:")
        >>> _ = db.add_student("ada", 16)
        >>> [s.name for s in db.students()]
        ['ada']
    """

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across a crash
        self._conn.executescript(CLASS_SCHEMA)
        with self._write() as db:
            add_family_columns(db)  # a database made before the klein family

    def close(self) -> None:
        """Close the connection (the database stays as it is: nothing is lost)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, args))

    # --- settings -----------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        """A stored setting, or None."""
        rows = self._rows("SELECT value FROM settings WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_setting(self, key: str, value: str) -> None:
        """Store a setting."""
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    # --- tasks and the ledger -----------------------------------------------------------

    def open_task(
        self,
        student: str,
        kind: str,
        request: GenerationRequest,
        cost_mills: int,
        *,
        status: str = "queued",
        upstream_id: str | None = None,
        cached: bool = False,
        leader: str | None = None,
        style: str | None = None,
        inputs: Inputs | None = None,
    ) -> GatewayTask | None:
        """Charge ``cost_mills`` and record the task, in one transaction; None (nothing
        charged, nothing recorded) if that would pass the budget or the token is revoked.
        ``inputs``: an image task's model, references, LoRAs and recipe key."""
        task_id = secrets.token_hex(16)
        r = request
        inputs = inputs or (Inputs.of(r) if kind == "image" else Inputs())
        with self._write() as db:
            charged = db.execute(
                "UPDATE students SET spent_mills = spent_mills + ? WHERE name = ? "
                "AND revoked = 0 AND spent_mills + ? <= budget_mills",
                (cost_mills, student, cost_mills),
            ).rowcount
            if not charged:
                return None
            done = now_text() if status in ("completed", "failed") else None
            db.execute(
                "INSERT INTO tasks (id, student, kind, prompt, width, height, seed, seed_drawn,"
                " sync_mode, base64_output, status, upstream_id, cost_mills, cached, created_at,"
                " done_at, leader, style, model, images, refs, loras, sized, recipe,"
                " price_confirmed) VALUES (" + ", ".join("?" * 25) + ")",
                (task_id, student, kind, r.prompt, r.width or 0, r.height or 0, r.seed,
                 r.seed_drawn, r.sync_mode, r.base64_output, status, upstream_id, cost_mills,
                 cached, now_text(), done, leader, style, *inputs.columns()),
            )  # fmt: skip
        found = self.task(task_id)
        assert found is not None
        return found

    def task(self, task_id: str) -> GatewayTask | None:
        """One task by its gateway id, or None."""
        rows = self._rows("SELECT * FROM tasks WHERE id = ?", (task_id,))
        return task_from_row(rows[0]) if rows else None

    def tasks(self, *statuses: str, limit: int = 100_000) -> list[GatewayTask]:
        """Tasks in these statuses, oldest first."""
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT * FROM tasks WHERE status IN ({marks}) ORDER BY seq LIMIT ?"
        return [task_from_row(r) for r in self._rows(sql, (*statuses, limit))]

    def leader_for(self, recipe: str) -> GatewayTask | None:
        """An unfinished image task with this recipe key (`klein_widget.client._recipe`:
        model, prompt, size, seed, references, LoRAs) that is paying for its image (not
        itself following one): a new one can share its image. A ``pending`` one counts
        too: were the new one sent, its prediction would match the pending one's in the
        history it is settled against, before the new one's upstream id is written."""
        sql = (
            "SELECT * FROM tasks WHERE recipe = ? AND kind = 'image' "
            "AND status IN ('queued', 'forwarding', 'submitted', 'pending') ORDER BY seq LIMIT 1"
        )
        rows = self._rows(sql, (recipe,))
        return task_from_row(rows[0]) if rows else None

    def open_or_follow(
        self,
        student: str,
        request: GenerationRequest,
        cost_mills: int,
        *,
        share: bool,
        inputs: Inputs,
    ) -> GatewayTask | None:
        """One image task: following an unfinished one with the same recipe key if
        ``share`` and there is one (free), else charged and queued. Atomic: two identical
        requests at once make one leader and one follower. None if the budget or the token
        refuses it."""
        with self._lock:
            leader = self.leader_for(inputs.recipe) if share and inputs.recipe else None
            if leader is not None:
                return self.open_task(
                    student, "image", request, 0, status="following", cached=True,
                    leader=leader.id, inputs=inputs,
                )  # fmt: skip
            return self.open_task(student, "image", request, cost_mills, inputs=inputs)

    def settle_followers(self, leader_id: str) -> None:
        """Settle the followers of a finished (or vanished) task: for a journal written
        before `update` and `refund` settled them with their leader."""
        with self._write() as db:
            _settle_followers(db, leader_id)

    def update(self, task_id: str, **fields: Unpack[TaskUpdate]) -> None:
        """Set some of a task's `TASK_UPDATES` columns (``status``, ``upstream_id``, ...);
        any other name is a `ValueError`. The SQL names only columns from that fixed list."""
        unknown = set(fields) - set(TASK_UPDATES)
        if unknown:
            raise ValueError(f"a task's {', '.join(sorted(unknown))} cannot be updated")
        values: dict[str, object] = dict(fields)
        if values.get("status") in ("completed", "failed"):
            values.setdefault("done_at", now_text())
        columns = [name for name in TASK_UPDATES if name in values]
        sql = "UPDATE tasks SET " + ", ".join(f"{name} = ?" for name in columns) + " WHERE id = ?"
        with self._write() as db:
            db.execute(sql, (*(values[name] for name in columns), task_id))
            if values.get("status") in ("completed", "failed"):
                _settle_followers(db, task_id)

    def refund(self, task_id: str, reason: str) -> None:
        """The task surely never reached upstream: fail it and give the money back."""
        with self._write() as db:
            rows = list(
                db.execute("SELECT student, cost_mills FROM tasks WHERE id = ?", (task_id,))
            )
            if not rows:
                return
            db.execute(
                "UPDATE students SET spent_mills = spent_mills - ? WHERE name = ?",
                (rows[0]["cost_mills"], rows[0]["student"]),
            )
            db.execute(
                "UPDATE tasks SET status = 'failed', error = ?, cost_mills = 0, done_at = ? "
                "WHERE id = ?",
                (reason, now_text(), task_id),
            )
            _settle_followers(db, task_id)

    def owned_upstream_ids(self, upstream_ids: list[str]) -> set[str]:
        """Which of these upstream ids already belong to a task of this class."""
        rows = self._rows_in("SELECT upstream_id FROM tasks WHERE upstream_id IN", upstream_ids)
        return {r["upstream_id"] for r in rows}


def _settle_followers(db: sqlite3.Connection, leader_id: str) -> None:
    """In the transaction that finishes a task: its followers complete with its image, or
    fail (free, so the student may simply ask again); a vanished leader fails them. In
    the same write, so no reader (a poll, the dashboard's counts, a test's invariants)
    ever sees a finished leader with an open follower."""
    rows = list(db.execute("SELECT * FROM tasks WHERE id = ?", (leader_id,)))
    leader = task_from_row(rows[0]) if rows else None
    if leader is not None and leader.open:
        return
    following = " WHERE leader = ? AND status = 'following'"
    if leader is not None and leader.status == "completed":
        made = (
            "UPDATE tasks SET status = 'completed', upstream_id = ?, inference_ms = ?, done_at = ?"
        )
        db.execute(
            made + following, (leader.upstream_id, leader.inference_ms, now_text(), leader_id)
        )
    else:
        why = leader.error if leader is not None else "the gateway lost it"
        error = f"The same request of another student failed ({why}); ask again."
        failed = "UPDATE tasks SET status = 'failed', error = ?, done_at = ?"
        db.execute(failed + following, (error, now_text(), leader_id))


class DBThread:
    """Runs functions on one worker thread: ``await run(fn, *args)`` from async code,
    ``run.post(fn, *args)`` from a callback that cannot await (same order either way)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="klein-gateway-db")

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def post(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue a call without waiting for it (it still runs before any later call)."""
        return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._pool.shutdown(wait=True)
