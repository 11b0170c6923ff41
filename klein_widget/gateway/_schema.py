"""The class database's tables (`CLASS_SCHEMA`) and the one migration: the klein family's
columns added to a database made before them (`add_family_columns`).
"""

from __future__ import annotations

import sqlite3

from klein_widget.client._family import DEFAULT_MODEL

__all__ = ["CLASS_SCHEMA", "FAMILY_COLUMNS", "RECIPE_INDEX", "add_family_columns"]

CLASS_SCHEMA = """
CREATE TABLE IF NOT EXISTS students (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    budget_mills INTEGER NOT NULL,
    spent_mills INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    student TEXT NOT NULL,
    kind TEXT NOT NULL,
    prompt TEXT NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    seed INTEGER NOT NULL DEFAULT -1,
    seed_drawn INTEGER NOT NULL DEFAULT 0,
    sync_mode INTEGER NOT NULL DEFAULT 0,
    base64_output INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    upstream_id TEXT,
    cost_mills INTEGER NOT NULL,
    cached INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    text_output TEXT,
    inference_ms INTEGER,
    created_at TEXT NOT NULL,
    done_at TEXT,
    leader TEXT,
    style TEXT
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (status, seq);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS image_flags (upstream_id TEXT PRIMARY KEY, nsfw INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS hidden_images (upstream_id TEXT PRIMARY KEY, hidden_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hand_ins (
    id TEXT PRIMARY KEY,
    student TEXT NOT NULL,
    title TEXT NOT NULL,
    images INTEGER NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_student ON tasks (student, seq);
CREATE TABLE IF NOT EXISTS uploads (
    url TEXT PRIMARY KEY,
    student TEXT NOT NULL,
    sha256 TEXT,
    issued_at TEXT NOT NULL
);
"""
# The klein family's columns of ``tasks``, added to a database made before them (its rows
# were all 4B text-to-image, at a confirmed price). ``recipe`` is the one recipe key.
FAMILY_COLUMNS = (
    ("model", f"TEXT NOT NULL DEFAULT '{DEFAULT_MODEL.name}'"),
    ("images", "TEXT NOT NULL DEFAULT '[]'"),
    ("refs", "TEXT NOT NULL DEFAULT '[]'"),
    ("loras", "TEXT NOT NULL DEFAULT '[]'"),
    ("sized", "INTEGER NOT NULL DEFAULT 1"),
    ("recipe", "TEXT"),
    ("price_confirmed", "INTEGER NOT NULL DEFAULT 1"),
)
RECIPE_INDEX = "CREATE INDEX IF NOT EXISTS tasks_recipe ON tasks (recipe, status)"


def add_family_columns(db: sqlite3.Connection) -> None:
    """Give a database made before the klein family its columns (old rows: 4B, confirmed),
    in the caller's transaction."""
    have = {r["name"] for r in db.execute("PRAGMA table_info(tasks)")}
    for name, kind in FAMILY_COLUMNS:  # names and types from a fixed tuple
        if name not in have:
            db.execute(f"ALTER TABLE tasks ADD COLUMN {name} {kind}")
    db.execute(RECIPE_INDEX)
