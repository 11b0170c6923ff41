"""A task as the students' API answers it: WaveSpeed's prediction JSON (the one wire format,
`klein_widget.serving._wire`) plus ``data.gateway``: what the student pays, whether it came
from the class's store, its place in line, its model and whether its price is confirmed.

An image the teacher hid is never given to a student, as a link or inline: its link
answers 404 for everyone but the teacher, and an answer that asked for the image inline
(base64) carries that link instead (``data.gateway.hidden``), so both ways end in the
same "your teacher hid it".

Example:
    >>> budget_text(Student("ada", 2000, 1996, False))
    'Your class budget of $2.00 is used up ($0.004 left; an image costs $0.008): ask your teacher.'
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from klein_widget.client._models import ENHANCER_MODEL_ID, PRICE_PER_IMAGE_MILLS
from klein_widget.gateway._rows import GatewayTask, Student
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.serving._http import Problem
from klein_widget.serving._wire import prediction_data
from klein_widget.store._entry import GalleryEntry

__all__ = ["budget_text", "charge_state", "image_bytes", "task_data"]

_STATUS = {
    "queued": "created",
    "forwarding": "processing",
    "submitted": "processing",
    "pending": "processing",  # clients poll on while the gateway settles it
}


def charge_state(task: GatewayTask) -> str:
    """What the student pays for a task: "free" (from the store or shared), "charged",
    "pending" (settling a submit of unknown fate) or "refunded".

    Example:
        >>> charge_state(refunded_task)  # doctest: +SKIP
        'refunded'
    """
    if task.cached:
        return "free"
    if task.status == "pending":
        return "pending"
    return "charged" if task.cost_mills > 0 else "refunded"


def _dollars(mills: int) -> str:
    return f"${mills / 1000:.2f}" if mills % 10 == 0 else f"${mills / 1000:.3f}"


def budget_text(student: Student, cost: int = PRICE_PER_IMAGE_MILLS, confirmed: bool = True) -> str:
    """What a student is told when a submit would pass their budget (``confirmed=False``:
    the cost is a reservation, the family's highest known price)."""
    price = _dollars(cost) + ("" if confirmed else ", reserved: its price is unconfirmed")
    return (
        f"Your class budget of {_dollars(student.budget_mills)} is used up "
        f"({_dollars(student.left_mills)} left; an image costs {price}): "
        "ask your teacher."
    )


async def image_bytes(gateway: Gateway, task: GatewayTask) -> tuple[bytes, bool]:
    """The stored image of a completed task, and its NSFW flag."""
    entry = await run_in_threadpool(gateway.gallery.entry, task.upstream_id or "")
    if entry is None or entry.path is None:
        raise Problem(404, "Image not found: the class store no longer has it.")
    generation = await run_in_threadpool(gateway.gallery.load, entry)
    return generation.image, entry.nsfw


async def task_data(
    request: Request, task: GatewayTask, entry: GalleryEntry | None = None
) -> dict[str, Any]:
    """The envelope's ``data`` for a task as it stands, in WaveSpeed's shape (plus
    ``gateway``: cost, cache, place in line). ``entry``: its image's gallery row, if
    already looked up."""
    gateway = gateway_of(request)
    base = str(request.base_url).rstrip("/")
    status = _STATUS.get(task.status, task.status)
    outputs: list[str] = []
    nsfw = False
    # Inline, a hidden image would skip its link's 404: send the link instead.
    inline = status == "completed" and task.kind == "image" and task.request.base64_output
    hidden = inline and await gateway.run(gateway.db.is_hidden, task.upstream_id)
    if status == "completed" and task.kind == "enhance":
        outputs = [task.text_output or ""]
    elif status == "completed" and task.request.base64_output and not hidden:
        image, nsfw = await image_bytes(gateway, task)
        outputs = [base64.b64encode(image).decode("ascii")]
    elif status == "completed":
        if entry is None:
            entry = await run_in_threadpool(gateway.gallery.entry, task.upstream_id or "")
        nsfw = bool(entry and entry.nsfw)
        outputs = [f"{base}/gateway/images/{task.id}.png"]
    extra: dict[str, Any] = {
        "cached": task.cached,
        "cost": task.cost_mills / 1000,
        "charge": charge_state(task),
    }
    if task.kind == "image":  # its model, and whether WaveSpeed published its price
        extra.update(model=task.inputs.model, price_confirmed=task.inputs.price_confirmed)
    if hidden:
        extra["hidden"] = True
    leader = task.leader if task.status == "following" else None
    waits_for = await gateway.run(gateway.db.task, leader) if leader else None
    if waits_for is not None:  # shares another student's request: its progress is ours
        status = _STATUS.get(waits_for.status, "processing")
        place = gateway.dispatcher.position(waits_for.id, waits_for.student)
    else:
        place = gateway.dispatcher.position(task.id, task.student)
    if place is not None:
        extra["queue_position"], extra["estimated_wait_s"] = place
    data = prediction_data(
        base,
        task.id,
        ENHANCER_MODEL_ID if task.kind == "enhance" else task.inputs.klein_model.id,
        status,
        outputs,
        created_at=task.created_at,
        nsfw=nsfw,
        error=task.error,
        inference_ms=task.inference_ms,
        # Whether this class's prices are real (WaveSpeed upstream) or the emulator's.
        simulated=gateway.upstream.simulated,
    )
    data["gateway"] = extra
    return data
