"""The gallery index's ``images`` table: its schema, the columns added since the first
release (an older index gets them on its first write), and the column values of a task.

``submitted_at`` and ``completed_at`` are one fixed ISO format in UTC (`stamp`), so text
order is time order in SQL.

Example:
    >>> stamp(datetime(2026, 1, 2, tzinfo=timezone.utc))
    '2026-01-02T00:00:00.000000+00:00'
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

from klein_widget.client._config import url_origin
from klein_widget.client._family_inputs import family_params
from klein_widget.client._models import GenerationRequest, Prediction

__all__ = ["SCHEMA", "created", "migrate", "now", "stamp", "task_columns"]

SCHEMA = """
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


def migrate(db: sqlite3.Connection) -> None:
    have = {row[1] for row in db.execute("PRAGMA table_info(images)")}
    for name, kind in _ADDED.items():
        if name not in have:
            db.execute(f"ALTER TABLE images ADD COLUMN {name} {kind}")


def stamp(moment: datetime) -> str:
    # One fixed ISO format in UTC, so text order is time order in SQL.
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def now() -> str:
    return stamp(datetime.now(timezone.utc))


def task_columns(
    request: GenerationRequest, prediction: Prediction, made: tuple[int, int] = (0, 0)
) -> tuple[Any, ...]:
    """task_id, prompt, width, height, seed, sync_mode, base64_output, model, origin, recipe,
    family. An edit that kept its first image's size stores the size ``made`` (0 before
    it is known), and ``family`` says the size was not sent."""
    width, height = (request.width, request.height) if request.width is not None else made
    return (
        prediction.id,
        request.prompt,
        width,
        height,
        request.seed,
        int(request.sync_mode),
        int(request.base64_output),
        prediction.model,
        url_origin(prediction.urls.get("get", "")),
        request.key,
        json.dumps(family_params(request), ensure_ascii=False),
    )


def created(prediction: Prediction) -> str | None:
    return prediction.created_at.isoformat() if prediction.created_at else None
