"""`GalleryEntry`: one row of the gallery index as Python, and how a row becomes one.

The ``images`` table itself (schema, writes, queries) is in `klein_widget.store._index`;
this module only knows the row's column names, and that its ``path`` is stored relative
to the gallery folder.

Example:
    >>> entry = klein_widget.history(limit=1)[0]  # doctest: +SKIP
    >>> entry.status, entry.path  # doctest: +SKIP
    ('completed', PosixPath('/home/me/klein-outputs/2026-11-24/153012-a-red-fox-42.png'))
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from klein_widget.client._models import GenerationRequest, MadeFromRequest

__all__ = ["EntryStatus", "GalleryEntry", "entry_from_row"]

EntryStatus = Literal["submitted", "completed", "failed", "abandoned"]


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


def _parse(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def entry_from_row(row: sqlite3.Row, folder: Path) -> GalleryEntry:
    """The `GalleryEntry` for one ``images`` row of the gallery in ``folder``.

    Example:
        >>> entry_from_row(db.execute("SELECT * FROM images").fetchone(), folder)  # doctest: +SKIP
    """
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
        path=folder / row["path"] if row["path"] else None,
        error=row["error"],
        attempts=row["attempts"],
    )
