"""The students' side: WaveSpeed's v3 routes for FLUX.2 [klein] 4B and the prompt optimizer,
answered by the gateway in WaveSpeed's envelope.

* ``POST /api/v3/{model}``: submit (``enable_sync_mode`` waits; ``enable_base64_output``
  inlines the image); a concrete seed any student already made comes from the class's
  store, free (``data.gateway.cached``).
* ``GET /api/v3/predictions/{id}/result`` and ``GET /api/v3/predictions/{id}``: a
  student's own tasks only (every student's when the class gallery is public); a queued
  task says its place in line and the expected wait in ``data.gateway``.
* ``GET /gateway/images/{id}.png``: the image, served by the gateway (ids are 128-bit
  random, like a CDN's links).

Errors are the envelope with a 4xx status and a message saying what to do (the emulator's
`Problem` and handlers: one implementation of WaveSpeed's error shape).

Example:
    >>> budget_text(Student("ada", 2000, 1996, False))
    'Your class budget of $2.00 is used up ($0.004 left; an image costs $0.008): ask your teacher.'
"""

from __future__ import annotations

import base64
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from klein_widget.client._config import result_path
from klein_widget.client._models import (
    ENHANCER_MODEL_ID,
    MODEL_ID,
    PRICE_PER_ENHANCE_MILLS,
    PRICE_PER_IMAGE_MILLS,
    GenerationRequest,
    check_style,
)
from klein_widget.emulator._http import Problem, envelope, read_json
from klein_widget.gateway._hub import hub_student
from klein_widget.gateway._rows import GatewayTask, Student
from klein_widget.gateway._state import Gateway, gateway_of

__all__ = ["budget_text", "guard_logins", "image", "result", "submit", "task_data"]

TASK_ID = re.compile(r"[0-9a-f]{32}")
_STATUS = {"queued": "created", "forwarding": "processing", "submitted": "processing"}


def _dollars(mills: int) -> str:
    return f"${mills / 1000:.2f}" if mills % 10 == 0 else f"${mills / 1000:.3f}"


def budget_text(student: Student, cost: int = PRICE_PER_IMAGE_MILLS) -> str:
    """What a student is told when a submit would pass their budget."""
    return (
        f"Your class budget of {_dollars(student.budget_mills)} is used up "
        f"({_dollars(student.left_mills)} left; an image costs {_dollars(cost)}): "
        "ask your teacher."
    )


def guard_logins(request: Request, *, whose: str) -> tuple[Gateway, str]:
    """The gateway and the caller's address, or a 429 while that address is locked out
    after too many wrong tokens (students' and the teacher's alike); ``whose`` names the
    token to try again with."""
    gateway = gateway_of(request)
    gateway.ensure_started()
    address = request.client.host if request.client else "unknown"
    wait = gateway.logins.wait(address)
    if wait:
        raise Problem(
            429,
            f"Too many wrong tokens from your address: try again in {wait:g} s, with {whose}.",
            headers={"Retry-After": str(int(wait))},
        )
    return gateway, address


def authorize(request: Request) -> Student:
    """The student whose token the request carries, or a 401 / 429 `Problem`."""
    student = hub_student(request)  # a Hub user's request (gateway/_hub.py), else None
    if student is not None:
        return student
    gateway, address = guard_logins(request, whose="the token your teacher gave you")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Problem(
            401,
            "No class token was sent: set WAVESPEED_API_KEY to the token your teacher gave "
            "you (ask your teacher if you have none).",
        )
    student = gateway.db.student_by_token(token[:512])
    if student is None:
        gateway.logins.failed(address)
        raise Problem(
            401, "This token is not one of this class's: ask your teacher for your token."
        )
    if student.revoked:
        raise Problem(401, "Your token was turned off by your teacher: ask your teacher.")
    return student


def _own_task(request: Request, student: Student) -> GatewayTask:
    gateway = gateway_of(request)
    task_id = request.path_params["task_id"]
    task = gateway.db.task(task_id) if TASK_ID.fullmatch(task_id) else None
    if task is None or (task.student != student.name and not gateway.public_gallery):
        raise Problem(
            404,
            f"No prediction with id {task_id[:40]!r} among yours: ids come from your "
            "submit's data.id.",
        )
    return task


async def _image_bytes(gateway: Gateway, task: GatewayTask) -> tuple[bytes, bool]:
    """The stored image of a completed task, and its NSFW flag."""
    entry = gateway.gallery.entry(task.upstream_id or "")
    if entry is None or entry.path is None:
        raise Problem(404, "Image not found: the class store no longer has it.")
    generation = await run_in_threadpool(gateway.gallery.load, entry)
    return generation.image, entry.nsfw


async def task_data(request: Request, task: GatewayTask) -> dict[str, Any]:
    """The envelope's ``data`` for a task as it stands, in WaveSpeed's shape (plus
    ``gateway``: cost, cache, place in line)."""
    gateway = gateway_of(request)
    base = str(request.base_url).rstrip("/")
    status = _STATUS.get(task.status, task.status)
    outputs: list[str] = []
    nsfw = False
    if status == "completed" and task.kind == "enhance":
        outputs = [task.text_output or ""]
    elif status == "completed" and task.request.base64_output:
        image, nsfw = await _image_bytes(gateway, task)
        outputs = [base64.b64encode(image).decode("ascii")]
    elif status == "completed":
        entry = gateway.gallery.entry(task.upstream_id or "")
        nsfw = bool(entry and entry.nsfw)
        outputs = [f"{base}/gateway/images/{task.id}.png"]
    extra: dict[str, Any] = {"cached": task.cached, "cost": task.cost_mills / 1000}
    waits_for = gateway.db.task(task.leader) if task.status == "following" and task.leader else None
    if waits_for is not None:  # shares another student's request: its progress is ours
        status = _STATUS.get(waits_for.status, "processing")
        place = gateway.dispatcher.position(waits_for.id, waits_for.student)
    else:
        place = gateway.dispatcher.position(task.id, task.student)
    if place is not None:
        extra["queue_position"], extra["estimated_wait_s"] = place
    return {
        "id": task.id,
        "model": ENHANCER_MODEL_ID if task.kind == "enhance" else MODEL_ID,
        "outputs": outputs,
        "urls": {"get": base + result_path(task.id)},
        "has_nsfw_contents": [nsfw] * len(outputs),
        "status": status,
        "created_at": task.created_at.replace("+00:00", "Z"),
        "error": task.error if status == "failed" else "",
        "timings": {"inference": task.inference_ms or 0},
        # Whether this class's prices are real (WaveSpeed upstream) or the emulator's.
        "simulated": gateway.upstream.simulated,
        "gateway": extra,
    }


def _parse(model: str, body: dict[str, Any]) -> GenerationRequest:
    try:
        if model == ENHANCER_MODEL_ID:
            text = body.get("text")
            if not isinstance(text, str):
                raise ValueError('text is required: the prompt to improve, e.g. {"text": "a fox"}')
            sync = body.get("enable_sync_mode", False)
            if not isinstance(sync, bool):
                raise ValueError(f"enable_sync_mode must be true or false, not {sync!r}")
            if body.get("mode", "image") != "image":
                raise ValueError('mode must be "image": this gateway serves an image model')
            return GenerationRequest(text, sync_mode=sync)
        return GenerationRequest.from_json(body)
    except (ValueError, TypeError) as error:  # InvalidRequestError is a ValueError
        raise Problem(400, str(error)) from None


def _style(body: dict[str, Any]) -> str | None:
    """The optimizer's ``style``, checked by the client's rule (None: the default)."""
    style = body.get("style")
    try:
        return None if style is None else check_style(style)
    except ValueError as error:
        raise Problem(400, str(error)) from None


async def submit(request: Request) -> Response:
    """``POST /api/v3/{model}``: charge, queue (or answer from the store), answer."""
    student = authorize(request)
    gateway = gateway_of(request)
    model = request.path_params["model"]
    if model not in (MODEL_ID, ENHANCER_MODEL_ID):
        raise Problem(404, f"Model {model[:80]!r} not found: this gateway serves {MODEL_ID}.")
    body = await read_json(request, gateway.max_body_bytes)
    asked = _parse(model, body)
    kind, cost, style = "image", PRICE_PER_IMAGE_MILLS, None
    if model == ENHANCER_MODEL_ID:
        kind, cost, style = "enhance", PRICE_PER_ENHANCE_MILLS, _style(body)
    made = None
    if kind == "image" and not asked.seed_drawn and asked.seed >= 0:
        # The store's one lookup by recipe key; a class on the real service never gets a
        # stand-in left from a rehearsal on the emulator.
        made = gateway.gallery.lookup(asked, real_only=not gateway.upstream.simulated)
    leader = None
    if made is None and kind == "image" and not asked.seed_drawn and asked.seed >= 0:
        leader = gateway.db.leader_for(asked)  # being made right now: share it
    if made is not None:
        task = gateway.db.open_task(
            student.name, kind, asked, 0, status="completed", upstream_id=made.task_id,
            cached=True,
        )  # fmt: skip
    elif leader is not None:
        task = gateway.db.open_task(
            student.name, kind, asked, 0, status="following", cached=True, leader=leader.id
        )
    else:
        task = gateway.db.open_task(
            student.name, kind, asked.with_concrete_seed(), cost, style=style
        )
        if task is not None:
            gateway.dispatcher.enqueue(task)
    if task is None:
        now = gateway.db.student(student.name) or student
        raise Problem(402, budget_text(now, cost))
    if asked.sync_mode and task.open:
        await gateway.dispatcher.wait_done(task.id, gateway.sync_window)
        task = gateway.db.task(task.id) or task
    data = await task_data(request, task)
    if asked.sync_mode and task.open:
        data["code"] = 5004  # as WaveSpeed: keep polling data.urls.get
        data["error"] = (
            f"Sync mode timed out: the task is still processing. Query the result later at {data['urls']['get']}"  # noqa: E501
        )
    return JSONResponse(envelope(data))


async def result(request: Request) -> Response:
    """``GET /api/v3/predictions/{id}/result`` (and without ``/result``)."""
    student = authorize(request)
    task = _own_task(request, student)
    return JSONResponse(envelope(await task_data(request, task)))


async def image(request: Request) -> Response:
    """``GET /gateway/images/{id}.png``: a completed task's image."""
    gateway = gateway_of(request)
    task_id = request.path_params["task_id"]
    task = gateway.db.task(task_id) if TASK_ID.fullmatch(task_id) else None
    if task is None or task.status != "completed" or task.kind != "image":
        raise Problem(404, "Image not found: image links come from a completed task's outputs.")
    data, _ = await _image_bytes(gateway, task)
    kind = "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"
    return Response(data, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})
