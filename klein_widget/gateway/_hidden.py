"""Images the teacher hid from the class: not answered from the class's store to anyone,
not served to anyone but the teacher, left out of lesson packs (`export_pack`).

The teacher is recognised here by the dashboard's cookie (`TEACHER_COOKIE`), so the
dashboard's own gallery still shows a hidden image.

Example:
    >>> served_to(request, task)  # doctest: +SKIP
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

from klein_widget.gateway._rows import GatewayTask
from klein_widget.gateway._state import gateway_of
from klein_widget.serving._http import Problem
from klein_widget.store._entry import GalleryEntry

__all__ = ["TEACHER_COOKIE", "from_store", "is_teacher", "served_to"]

TEACHER_COOKIE = "klein_teacher"


def is_teacher(request: Request) -> bool:
    """Whether the request carries the teacher's dashboard cookie."""
    cookie = request.cookies.get(TEACHER_COOKIE, "")
    token = gateway_of(request).teacher_token
    return hmac.compare_digest(cookie.encode("utf-8", "replace"), token.encode())


def served_to(request: Request, task: GatewayTask) -> None:
    """A 404 unless the task's image may be served to this request (hidden ones: only to
    the teacher)."""
    if gateway_of(request).db.is_hidden(task.upstream_id) and not is_teacher(request):
        raise Problem(404, "Image not available: your teacher hid it from the class.")


def from_store(request: Request, found: GalleryEntry | None) -> GalleryEntry | None:
    """A store hit, unless the teacher hid that image (then it is made anew, and paid)."""
    if found is not None and gateway_of(request).db.is_hidden(found.task_id):
        return None
    return found
