"""The teacher's views of the class's work beyond the dashboard: one student's page
(prompts over time with their images, times, costs and hand-ins) and the class's tasks as
CSV (safe to open in a spreadsheet: no cell is read as a formula).

Example:
    >>> csv_cell("=1+2")
    "'=1+2"
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from klein_widget.gateway._api import TASK_ID
from klein_widget.gateway._classwork import hand_ins_folder
from klein_widget.gateway._dashboard import hand_in_rows, page_frame, student_named, student_row
from klein_widget.gateway._rows import GatewayTask
from klein_widget.gateway._state import Gateway
from klein_widget.gateway._teacher import (
    UNCONFIRMED,
    cost_text,
    model_text,
    money,
    nsfw_flags,
    render,
    shown_image,
    teacher,
)
from klein_widget.serving._http import Problem

__all__ = ["CSV_COLUMNS", "csv_cell", "hand_in_file", "student_page", "tasks_csv"]

# What a spreadsheet reads as a formula (or a DDE command) when a cell starts with it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
CSV_COLUMNS = (
    "created_at", "done_at", "student", "kind", "model", "prompt", "width", "height", "seed",
    "references", "loras", "status", "cost_dollars", "price_confirmed", "from_store",
    "nsfw_flagged", "hidden", "image_url", "error", "task_id",
)  # fmt: skip


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts like a formula gets a ``'``
    in front (OWASP's rule for CSV injection). Numbers we write are left as they are.

    Example:
        >>> csv_cell("a fox"), csv_cell("@SUM(A1)"), csv_cell(-1)
        ('a fox', "'@SUM(A1)", '-1')
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _task_row(task: GatewayTask, base: str, flags: dict[str, bool], hidden: set[str]) -> list[str]:
    image = task.kind == "image" and task.status == "completed"
    r, i = task.request, task.inputs
    sized = task.kind == "image" and i.sized
    loras = " ".join(f"{path}:{scale:g}" for path, scale in i.loras)
    cells: list[object] = [
        task.created_at, task.done_at, task.student, task.kind,
        i.model if task.kind == "image" else "", r.prompt,
        r.width if sized else "", r.height if sized else "", r.seed,
        " ".join(i.images), loras, task.status, task.cost_mills / 1000,
        int(i.price_confirmed or task.kind != "image"), int(task.cached),
        int(image and flags.get(task.upstream_id or "", False)),
        int((task.upstream_id or "") in hidden),
        f"{base}/gateway/images/{task.id}.png" if image else "", task.error, task.id,
    ]  # fmt: skip
    return [csv_cell(c) for c in cells]


async def tasks_csv(request: Request) -> Response:
    """``GET /dashboard/tasks.csv``: every task of the class, oldest first."""
    gateway = teacher(request)
    base = str(request.base_url).rstrip("/")

    def lines() -> Iterator[str]:  # a plain iterator: Starlette runs it in a thread
        hidden = gateway.db.hidden_images()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for page in gateway.db.task_pages():
            flags = nsfw_flags(gateway, [t for t in page if t.status == "completed"])
            for task in page:
                writer.writerow(_task_row(task, base, flags, hidden))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()  # the header alone, for a class with no tasks yet

    headers = {
        "Content-Disposition": 'attachment; filename="class-tasks.csv"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


async def student_page(request: Request) -> Response:
    """``GET /dashboard/students/{number}``: one student's work over time."""
    gateway = teacher(request)
    number = int(request.path_params["number"])
    page = await gateway.run(_student_data, gateway, request, number)  # off the loop
    return render(request, "student.html", **page)


def _student_data(gateway: Gateway, request: Request, number: int) -> dict[str, Any]:
    """One student's page from the database and the store (on the database thread)."""
    student = student_named(gateway, request)
    hidden = gateway.db.hidden_images()
    mine = gateway.db.tasks_of(student.name)
    flags = nsfw_flags(gateway, [t for t in mine if t.status == "completed"])
    tasks = []
    for task in mine:
        shows = task.kind == "image" and task.status == "completed"
        tasks.append(
            {
                "time": task.created_at[:19].replace("T", " "),
                "kind": task.kind,
                "model": model_text(task),
                "prompt": task.request.prompt,
                "seed": task.request.seed if task.kind == "image" else "",
                "status": task.status + (" (from store)" if task.cached else ""),
                "cost": cost_text(task),
                "unconfirmed": cost_text(task) != money(task.cost_mills),
                "image": shown_image(task, flags, hidden) if shows else None,
            }
        )
    hand_ins = hand_in_rows(gateway, student.name)
    counts = {**gateway.db.counts().get(student.name, {}), "hand_ins": len(hand_ins)}
    return {
        **page_frame(gateway),
        "student": student_row(student, number, counts),
        "tasks": tasks,
        "hand_ins": hand_ins,
        "unconfirmed": UNCONFIRMED,
    }


async def hand_in_file(request: Request) -> Response:
    """``GET /dashboard/hand-ins/{id}.zip``: a hand-in, named after its student and title."""
    gateway = teacher(request)
    hand_in_id = request.path_params["hand_in_id"]
    found = (
        await gateway.run(gateway.db.hand_in, hand_in_id) if TASK_ID.fullmatch(hand_in_id) else None
    )
    path = hand_ins_folder(gateway.db.path) / f"{hand_in_id}.zip"
    if found is None or not path.is_file():
        raise Problem(404, "No such hand-in.")
    name = "".join(
        c if c.isalnum() or c in "-_." else "-" for c in f"{found.student}-{found.title}"
    )
    return FileResponse(path, media_type="application/zip", filename=f"{name[:80]}.zip")
