"""The class database's rows as Python: a `Student` and a `GatewayTask` (the tables are
`klein_widget.gateway._schema`'s).

Example:
    >>> Student("ada", 2000, 8, False).left_mills
    1992
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypedDict

from klein_widget.client._family import DEFAULT_MODEL, KleinModel, resolve_model
from klein_widget.client._models import GenerationRequest

__all__ = [
    "OPEN_STATUSES",
    "TASK_UPDATES",
    "GatewayTask",
    "HandIn",
    "Inputs",
    "Student",
    "TaskUpdate",
    "budget_fields",
    "now_text",
    "student_from_row",
    "task_from_row",
]


class TaskUpdate(TypedDict, total=False):
    """What `ClassDB.update` may set (the names of `TASK_UPDATES`)."""

    status: str
    upstream_id: str | None
    error: str
    text_output: str | None
    inference_ms: int | None
    done_at: str


# The only columns `ClassDB.update` may set: its SQL is built from these names alone.
TASK_UPDATES = tuple(TaskUpdate.__annotations__)


def now_text() -> str:
    """Now, as the database writes times (UTC, ISO 8601, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


# "following": waiting for another student's identical request (its ``leader``), free.
# "pending": its submit may or may not have reached upstream; settled against upstream's
# record of predictions, then charged (followed on) or refunded.
OPEN_STATUSES = ("queued", "forwarding", "submitted", "following", "pending")


@dataclass(frozen=True)
class Student:
    """One student: budget and spend in mills ($0.001), and whether the token still works.

    Example:
        >>> Student("ada", 2000, 8, False).left_mills
        1992
    """

    name: str
    budget_mills: int
    spent_mills: int
    revoked: bool

    @property
    def left_mills(self) -> int:
        """What the student may still spend."""
        return max(0, self.budget_mills - self.spent_mills)


@dataclass(frozen=True)
class Inputs:
    """What besides prompt, size and seed decides a task's picture and price: the model (a
    short name), an edit's image URLs and their content hashes, the LoRAs, whether a size
    was given, the recipe key, and whether the price charged is WaveSpeed's published one.

    Example:
        >>> Inputs().klein_model.id
        'wavespeed-ai/flux-2-klein-4b/text-to-image'
    """

    model: str = DEFAULT_MODEL.name
    images: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    loras: tuple[tuple[str, float], ...] = ()
    sized: bool = True
    recipe: str | None = None
    price_confirmed: bool = True

    @property
    def klein_model(self) -> KleinModel:
        """The family's model."""
        return resolve_model(self.model)

    @classmethod
    def of(cls, request: GenerationRequest, confirmed: bool | None = None) -> Inputs:
        """An image task's inputs, from its request (with its concrete seed and, for an
        edit, each image's content hash as its references). The recipe key is the
        request's one `recipe_key` (model, prompt, size, seed, references, LoRAs), so a 4B
        and a 9B request never share, nor two edits of different photos, while two uploads
        of the same photo do. ``confirmed``: whether the price charged is a known one
        (default: published on the model's page)."""
        model = request.klein_model
        confirmed = model.price_confirmed if confirmed is None else confirmed
        return cls(
            model.name, request.images, request.references, request.loras,
            request.width is not None, request.key, confirmed,
        )  # fmt: skip

    def columns(self) -> tuple[Any, ...]:
        """The values of `FAMILY_COLUMNS`, in order."""
        loras = [[path, scale] for path, scale in self.loras]
        return (
            self.model, json.dumps(list(self.images)), json.dumps(list(self.references)),
            json.dumps(loras), int(self.sized), self.recipe, int(self.price_confirmed),
        )  # fmt: skip


def _inputs(row: sqlite3.Row) -> Inputs:
    return Inputs(
        model=row["model"],
        images=tuple(json.loads(row["images"])),
        references=tuple(json.loads(row["refs"])),
        loras=tuple((str(p), float(s)) for p, s in json.loads(row["loras"])),
        sized=bool(row["sized"]),
        recipe=row["recipe"],
        price_confirmed=bool(row["price_confirmed"]),
    )


@dataclass(frozen=True)
class GatewayTask:
    """One task a student asked for (a row of ``tasks``)."""

    seq: int
    id: str
    student: str
    kind: str  # "image" or "enhance"
    request: GenerationRequest
    status: str
    upstream_id: str | None
    cost_mills: int
    cached: bool
    error: str
    text_output: str | None
    inference_ms: int | None
    created_at: str
    done_at: str | None
    leader: str | None = None  # for a "following" task: the task whose image it shares
    style: str | None = None  # an "enhance" task's optimizer style, as the student asked
    inputs: Inputs = field(default_factory=Inputs)  # the model and the rest (images only)

    @property
    def open(self) -> bool:
        """Not finished yet (queued, or on its way upstream)."""
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class HandIn:
    """A lesson pack a student handed in (the file is ``<id>.zip`` in the hand-ins folder)."""

    id: str
    student: str
    title: str
    images: int
    size: int
    created_at: str


def budget_fields(student: Student) -> dict[str, Any]:
    """What a student's budget still holds, as the v3 answers state it in ``data.gateway``
    (``GET /api/klein/me`` adds the rest).

    Example:
        >>> budget_fields(Student("ada", 2000, 16, False))
        {'budget_left_mills': 1984}
    """
    return {"budget_left_mills": student.left_mills}


# A task's columns that are its fields as they are (the rest make its request and inputs).
_STORED_AS_IS = (
    "seq", "id", "student", "kind", "status", "upstream_id", "cost_mills", "error",
    "text_output", "inference_ms", "created_at", "done_at", "leader", "style",
)  # fmt: skip


def task_from_row(row: sqlite3.Row) -> GatewayTask:
    inputs = _inputs(row)
    sized = inputs.sized or row["kind"] != "image"
    request = GenerationRequest(
        row["prompt"],
        (row["width"] or 1024) if sized else None,
        (row["height"] or 1024) if sized else None,
        row["seed"],
        bool(row["sync_mode"]),
        bool(row["base64_output"]),
        seed_drawn=bool(row["seed_drawn"]),
        model=inputs.model if row["kind"] == "image" else DEFAULT_MODEL.name,
        images=inputs.images,
        references=inputs.references,
        loras=inputs.loras,
    )
    stored = {name: row[name] for name in _STORED_AS_IS}
    return GatewayTask(**stored, request=request, cached=bool(row["cached"]), inputs=inputs)


def student_from_row(row: sqlite3.Row) -> Student:
    return Student(row["name"], row["budget_mills"], row["spent_mills"], bool(row["revoked"]))
