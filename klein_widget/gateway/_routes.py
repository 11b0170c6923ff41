"""The teacher's routes (the dashboard, its pages, exports and hand-ins) and the students'
own teacher-facing ones (``/api/klein/me``, ``/api/klein/hand-in``), in one list for
`create_app`.

Example:
    >>> [r.path for r in teacher_routes()][:2]
    ['/dashboard', '/dashboard/state.json']
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from klein_widget.gateway import _classwork, _dashboard, _pages
from klein_widget.gateway._teacher import STATIC

__all__ = ["teacher_routes"]


def teacher_routes() -> list[BaseRoute]:
    """Every route of the teacher's side."""
    d = _dashboard
    return [
        Route("/dashboard", d.dashboard, methods=["GET"]),
        Route("/dashboard/state.json", d.state, methods=["GET"]),
        Route("/dashboard/pack.zip", d.pack, methods=["GET"]),
        Route("/dashboard/tasks.csv", _pages.tasks_csv, methods=["GET"]),
        Route("/dashboard/students/{number}", _pages.student_page, methods=["GET"]),
        Route("/dashboard/students/{number}/revoke", d.revoke, methods=["POST"]),
        Route("/dashboard/students/{number}/budget", d.budget, methods=["POST"]),
        Route("/dashboard/images/{task_id}/hide", d.hide, methods=["POST"]),
        Route("/dashboard/hand-ins/{hand_in_id}.zip", _pages.hand_in_file, methods=["GET"]),
        Route("/api/klein/me", _classwork.me, methods=["GET"]),
        Route(_classwork.HAND_IN_PATH, _classwork.hand_in, methods=["POST"]),
        Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
    ]
