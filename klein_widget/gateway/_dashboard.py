"""The teacher's dashboard at ``/dashboard``: spend and budgets, the live queue, hand-ins,
the class gallery (click to enlarge; flagged images blurred until "Show"; "Hide from class"),
revoke and budget controls, the lesson-pack export. Pages render from ``templates/`` with
autoescape (`_teacher.render`); the Python side passes plain data.

Opening ``/dashboard?token=<teacher token>`` sets an HttpOnly, SameSite=Strict cookie and
drops the token from the address bar; forms post back to the same origin. Students are
addressed by number (``/dashboard/students/3``), never by name.

Example:
    $ klein gateway serve --db class.sqlite3   # prints http://127.0.0.1:8800/dashboard?token=...
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from klein_widget.gateway._api import TASK_ID
from klein_widget.gateway._rows import Student
from klein_widget.gateway._state import Gateway, export_pack
from klein_widget.gateway._teacher import (
    TEACHER_COOKIE,
    model_text,
    money,
    nsfw_flags,
    render,
    shown_image,
    teacher,
)
from klein_widget.serving._http import Problem
from klein_widget.store._pack_files import PackError

__all__ = ["TEACHER_COOKIE", "budget", "dashboard", "hide", "pack", "page_frame", "revoke", "state"]

GALLERY_LIMIT = 60


def page_frame(gateway: Gateway) -> dict[str, Any]:
    """What every teacher page's header shows."""
    return {
        "upstream": gateway.upstream.label,
        "class_spend": money(sum(s.spent_mills for s in gateway.db.students())),
        # Images of models WaveSpeed publishes no price for: charged the family's highest.
        "reserved": money(reserved) if (reserved := gateway.db.reserved_mills()) else None,
        # A rehearsal on the emulator bills nothing: say so beside the class's spend.
        "simulated": gateway.upstream.simulated,
    }


def student_row(student: Student, number: int, counts: dict[str, int]) -> dict[str, Any]:
    """A student as the pages show them (plain data)."""
    return {
        "id": number,
        "name": student.name,
        "spent": money(student.spent_mills),
        "budget": money(student.budget_mills),
        "left": money(student.left_mills),
        "budget_dollars": f"{student.budget_mills / 1000:.2f}",
        "revoked": student.revoked,
        **{k: counts.get(k, 0) for k in ("images", "cached", "waiting", "hand_ins")},
    }


def hand_in_rows(gateway: Gateway, student: str | None = None) -> list[dict[str, Any]]:
    """Hand-ins as the pages list them, newest first."""
    return [
        {
            "id": h.id,
            "student": h.student,
            "title": h.title,
            "images": h.images,
            "time": h.created_at[:19].replace("T", " "),
        }
        for h in gateway.db.hand_ins(student)
    ]


async def dashboard(request: Request) -> Response:
    """``GET /dashboard``: the page (``?token=`` logs in and redirects without it)."""
    gateway = teacher(request)
    if "token" in request.query_params:
        root = request.scope.get("root_path", "")  # under the Hub, its service prefix
        response: Response = RedirectResponse(root + "/dashboard", status_code=303)
        response.set_cookie(TEACHER_COOKIE, gateway.teacher_token, httponly=True, samesite="strict")
        return response
    page = await gateway.run(_dashboard_data, gateway)  # database and store: off the loop
    return render(
        request,
        "dashboard.html",
        **page,
        running=gateway.dispatcher.running,
        queued=gateway.dispatcher.queued,
        limit=gateway.dispatcher.concurrency.limit,
        gallery_limit=GALLERY_LIMIT,
    )


def _dashboard_data(gateway: Gateway) -> dict[str, Any]:
    """What the dashboard shows from the database and the store (on the database thread)."""
    db = gateway.db
    counts, numbers, hidden = db.counts(), db.student_ids(), db.hidden_images()
    hand_ins = hand_in_rows(gateway)
    shown = db.gallery(limit=GALLERY_LIMIT)
    flags = nsfw_flags(gateway, shown)
    for h in hand_ins:
        counts.setdefault(h["student"], {})
        counts[h["student"]]["hand_ins"] = counts[h["student"]].get("hand_ins", 0) + 1
    return {
        **page_frame(gateway),
        "students": [
            student_row(s, numbers[s.name], counts.get(s.name, {})) for s in db.students()
        ],
        "hand_ins": hand_ins,
        "images": [shown_image(t, flags, hidden) for t in shown],
    }


async def state(request: Request) -> Response:
    """``GET /dashboard/state.json``: the live queue, for the page's refresh."""
    gateway = teacher(request)
    tasks = []
    waiting = await gateway.run(gateway.db.tasks, "queued", "forwarding", "submitted", limit=200)
    for task in waiting:
        place = gateway.dispatcher.position(task.id, task.student)
        tasks.append(
            {
                "position": place[0] if place else None,
                "student": task.student,
                "status": "waiting" if task.status == "queued" else "upstream",
                "model": model_text(task),
                "prompt": task.request.prompt[:120],
            }
        )
    return JSONResponse(
        {
            "running": gateway.dispatcher.running,
            "queued": gateway.dispatcher.queued,
            "limit": gateway.dispatcher.concurrency.limit,
            "tasks": sorted(tasks, key=lambda t: (t["position"] is None, t["position"] or 0)),
        },
        headers={"Cache-Control": "no-store"},
    )


async def pack(request: Request) -> Response:
    """``GET /dashboard/pack.zip``: the class's images as a lesson pack (`export_pack`:
    without the images the teacher hid, with WaveSpeed's flags)."""
    gateway = teacher(request)

    def build() -> bytes:
        with tempfile.TemporaryDirectory(prefix="klein-gateway-pack-") as scratch:
            out = Path(scratch) / "class-pack.zip"
            export_pack(gateway.gallery.path, out, hidden=gateway.db.hidden_images())
            return out.read_bytes()

    try:
        data = await run_in_threadpool(build)
    except PackError as error:
        raise Problem(409, str(error)) from None
    disposition = 'attachment; filename="class-pack.zip"'
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


async def form(request: Request) -> dict[str, str]:
    """A small url-encoded form's fields (a 413 past 4 kB)."""
    body = await request.body()
    if len(body) > 4096:
        raise Problem(413, "Form too large.")
    fields = parse_qs(body.decode("utf-8", "replace"))
    return {k: v[0] for k, v in fields.items()}


def student_named(gateway: Gateway, request: Request) -> Student:
    """The student whose number is in the path, or a 404 (asked after the login, so a
    stranger learns nothing from it)."""
    number = str(request.path_params["number"])
    ok = number.isdecimal() and len(number) < 19  # SQLite holds 64-bit numbers
    found = gateway.db.student_by_id(int(number)) if ok else None
    if found is None:
        raise Problem(404, f"There is no student number {number[:20]!r}.")
    return found


def back(request: Request) -> Response:
    """Back to the page the form was on (only this server's own dashboard pages)."""
    where = request.query_params.get("back", "")
    same_site = where.startswith("/dashboard") and not where.startswith("/dashboard/static")
    root = request.scope.get("root_path", "")  # under the Hub, its service prefix
    return RedirectResponse(where if same_site else root + "/dashboard", status_code=303)


async def revoke(request: Request) -> Response:
    """``POST /dashboard/students/{number}/revoke``."""
    gateway = teacher(request)
    student = await gateway.run(student_named, gateway, request)
    await gateway.run(gateway.db.revoke, student.name)
    return back(request)


async def budget(request: Request) -> Response:
    """``POST /dashboard/students/{number}/budget`` with ``budget`` in dollars."""
    gateway = teacher(request)
    name = (await gateway.run(student_named, gateway, request)).name
    try:
        mills = round(float((await form(request)).get("budget", "")) * 1000)
        if not 0 <= mills <= 10_000_000:
            raise ValueError
    except ValueError:
        raise Problem(400, "The budget must be a number of dollars, 0 or more.") from None
    await gateway.run(gateway.db.set_budget, name, mills)
    return back(request)


async def hide(request: Request) -> Response:
    """``POST /dashboard/images/{task_id}/hide`` with ``hidden`` 1 (hide the image from the
    class's store and exports) or 0 (show it again)."""
    gateway = teacher(request)
    task_id = request.path_params["task_id"]
    task = await gateway.run(gateway.db.task, task_id) if TASK_ID.fullmatch(task_id) else None
    if task is None or task.upstream_id is None:
        raise Problem(404, "No such image.")
    hidden = (await form(request)).get("hidden") != "0"
    await gateway.run(gateway.db.hide_image, task.upstream_id, hidden)
    return back(request)
