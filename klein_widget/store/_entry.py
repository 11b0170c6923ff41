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

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from klein_widget.client._config import needs_key, service_name
from klein_widget.client._family_inputs import family_from_params
from klein_widget.client._metadata import emulator_stamped
from klein_widget.client._models import MODEL_ID, GenerationRequest, MadeFromRequest
from klein_widget.client._params import call_params

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
    # Provenance: a simulating server's stand-in (or unknown: rows from before it was
    # recorded that cannot be shown real), and which service made it.
    simulated: bool = True
    service: str = ""
    recipe_key: str = ""  # `recipe_key` of what it was made with (the lookup compares it)
    # The size stored for it: an edit that kept its first image's size sent none.
    stored_size: tuple[int, int] = (0, 0)

    def _made_size(self) -> tuple[int, int]:
        return self.stored_size

    @property
    def time(self) -> datetime | None:
        """When the image arrived (or, if it has not, when the task was accepted)."""
        return self.completed_at or self.submitted_at

    def params(self) -> dict[str, Any]:
        """Keyword arguments that make this image again: ``client.generate(**e.params())``,
        or for an edit (``e.request.is_edit``) ``client.edit(**e.params())``, whose
        ``images`` are the URLs it sent (`call_params`); ``client.generate(e.request)``
        sends the request itself.

        Example:
            >>> entry.params()  # doctest: +SKIP
            {'prompt': 'a fox', 'width': 512, 'height': 512, 'seed': 7, 'model': '9b'}
        """
        return call_params(self.request)


def infer_provenance(origin: str, path: Path | None) -> tuple[bool, str]:
    """(simulated, service) of a row written before provenance was recorded: real only if
    its task went to WaveSpeed's own host and its file has no emulator stamp; anything else
    is a stand-in, so an unknown image is never passed off as real.

    Example:
        >>> infer_provenance("http://127.0.0.1:8765", None)
        (True, 'emulator @127.0.0.1:8765')
    """
    if origin and needs_key(origin):  # WaveSpeed itself never simulates; the file may say
        try:
            stamped = path is not None and emulator_stamped(path.read_bytes())
        except OSError:
            stamped = False
        return stamped, service_name(origin, stamped)
    return True, service_name(origin, True) if origin else _UNKNOWN


def file_provenance(params: dict[str, Any], data: bytes) -> tuple[bool, str]:
    """(simulated, service) of an image file from its embedded parameters; a file from
    before provenance was recorded is a stand-in (an emulator's if it carries its stamp).

    Example:
        >>> file_provenance({"simulated": False, "service": "api.wavespeed.ai"}, b"")
        (False, 'api.wavespeed.ai')
    """
    said = params.get("simulated")
    if isinstance(said, bool):
        return said, str(params.get("service") or "")
    return True, "emulator" if emulator_stamped(data) else _UNKNOWN


_UNKNOWN = "unknown (stored before provenance)"


def _parse(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def entry_from_row(row: sqlite3.Row, folder: Path) -> GalleryEntry:
    """The `GalleryEntry` for one ``images`` row of the gallery in ``folder``.

    Example:
        >>> entry_from_row(db.execute("SELECT * FROM images").fetchone(), folder)  # doctest: +SKIP
    """
    names = row.keys()
    family = json.loads(row["family"]) if "family" in names and row["family"] else None
    sized = not isinstance(family, dict) or family.get("sized", True)
    stored = (row["width"], row["height"])
    request = GenerationRequest(
        row["prompt"],
        stored[0] if sized else None,
        stored[1] if sized else None,
        row["seed"],
        bool(row["sync_mode"]),
        bool(row["base64_output"]),
        **family_from_params(family, row["model"]),
    )
    path = folder / row["path"] if row["path"] else None
    said = row["simulated"] if "simulated" in names else None
    if said is None:
        simulated, service = infer_provenance(row["origin"], path)
    else:
        simulated, service = bool(said), row["service"] or ""
    key = row["recipe"] if "recipe" in names else None
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
        path=path,
        error=row["error"],
        attempts=row["attempts"],
        simulated=simulated,
        service=service,
        # Before the recipe was stored: 4B text-to-image, asked of the row's model.
        recipe_key=key or request.recipe(row["model"] or MODEL_ID).key,
        stored_size=stored,
    )
