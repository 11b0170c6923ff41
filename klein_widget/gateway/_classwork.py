"""A student's own teacher-facing routes, with their class token (as the v3 API):

* ``GET /api/klein/me``: name, budget, spent and what is left (mills and dollars), images.
* ``POST /api/klein/hand-in?title=...``: hand in a lesson pack (``klein pack make``'s zip)
  as the body; checked with the store's `open_pack` (every image verified) before it is
  kept, at most `HAND_IN_MAX_BYTES` and `HAND_INS_PER_STUDENT` per student. The teacher's
  dashboard lists it with a download link.

The v3 API's answers carry what is left (`budget_fields`) in ``data.gateway``.

Example:
    $ curl -H "Authorization: Bearer $WAVESPEED_API_KEY" $WAVESPEED_BASE_URL/api/klein/me
"""

from __future__ import annotations

import os
from os import PathLike
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from klein_widget.gateway._auth import authorize
from klein_widget.gateway._rows import budget_fields
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.serving._http import Problem, envelope, read_body
from klein_widget.store import PackError, open_pack

__all__ = [
    "HAND_INS_PER_STUDENT",
    "HAND_IN_MAX_BYTES",
    "HAND_IN_PATH",
    "hand_in",
    "hand_ins_folder",
    "me",
]

HAND_IN_MAX_BYTES = 64 << 20  # a notebook's images: a few dozen PNGs of ~1 MB
HAND_IN_PATH = "/api/klein/hand-in"
HAND_INS_PER_STUDENT = 50  # bounds the disk one student's token can fill


def hand_ins_folder(db_path: str | PathLike[str]) -> Path:
    """Where hand-ins are kept, beside the database: ``class.sqlite3`` → ``class-hand-ins/``.

    Example:
        >>> hand_ins_folder("/srv/class.sqlite3").name
        'class-hand-ins'
    """
    path = Path(db_path)
    return path.with_name(path.stem + "-hand-ins")


async def me(request: Request) -> Response:
    """``GET /api/klein/me``: the caller's own budget and work."""
    student = await authorize(request)
    gateway = gateway_of(request)
    counts = (await gateway.run(gateway.db.counts)).get(student.name, {})
    hand_ins = await gateway.run(gateway.db.hand_ins, student.name)
    data = {
        "name": student.name,
        "budget_mills": student.budget_mills,
        "spent_mills": student.spent_mills,
        **budget_fields(student),
        "budget_left": f"${student.left_mills / 1000:.3f}",
        "images": counts.get("images", 0),
        "waiting": counts.get("waiting", 0),
        "hand_ins": len(hand_ins),
        "simulated": gateway.upstream.simulated,
    }
    return JSONResponse(envelope(data), headers={"Cache-Control": "no-store"})


def _keep(gateway: Gateway, student: str, title: str, data: bytes) -> dict[str, Any]:
    folder = hand_ins_folder(gateway.db.path)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".upload-{os.urandom(8).hex()}.zip"
    try:
        scratch.write_bytes(data)
        try:
            images = len(open_pack(scratch, verify=True))
        except PackError as error:
            raise Problem(400, f"That is not a lesson pack klein can open: {error}") from None
        record = gateway.db.add_hand_in(student, title, images, len(data))
        scratch.replace(folder / f"{record.id}.zip")
    finally:
        scratch.unlink(missing_ok=True)
    return {"id": record.id, "title": record.title, "images": images, "size": len(data)}


async def hand_in(request: Request) -> Response:
    """``POST /api/klein/hand-in?title=NAME`` with a lesson pack's zip as the body."""
    student = await authorize(request)
    gateway = gateway_of(request)
    title = (request.query_params.get("title") or "hand-in").strip()[:200] or "hand-in"
    if len(await gateway.run(gateway.db.hand_ins, student.name)) >= HAND_INS_PER_STUDENT:
        raise Problem(409, f"You have handed in {HAND_INS_PER_STUDENT} times: ask your teacher.")
    # Refused by its declared length, or as soon as it streams past the cap.
    too_big = Problem(
        413, f"A hand-in is at most {HAND_IN_MAX_BYTES >> 20} MB: hand in fewer images."
    )
    data = await read_body(request, HAND_IN_MAX_BYTES, too_big)
    if not data:
        raise Problem(400, "Send the lesson pack (a .zip from `klein pack make`) as the body.")
    kept = await run_in_threadpool(_keep, gateway, student.name, title, data)
    return JSONResponse(envelope(kept))
