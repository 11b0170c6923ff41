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

Errors are the envelope with a 4xx status and a message saying what to do. The error shape,
the prediction JSON, the 5004 sync timeout and the optimizer's body checks are the
emulator's too: one implementation of WaveSpeed's wire format (`klein_widget.serving`).

Example:
    >>> budget_text(Student("ada", 2000, 1996, False))
    'Your class budget of $2.00 is used up ($0.004 left; an image costs $0.008): ask your teacher.'
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from klein_widget.client._models import (
    ENHANCER_MODEL_ID,
    MODEL_ID,
    PRICE_PER_ENHANCE_MILLS,
    PRICE_PER_IMAGE_MILLS,
    GenerationRequest,
)
from klein_widget.gateway._hidden import from_store, served_to
from klein_widget.gateway._hub import hub_student
from klein_widget.gateway._rows import GatewayTask, Student, budget_fields
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.gateway._tokens import same_token, token_bucket, token_hash
from klein_widget.serving._http import (
    Problem,
    bearer_token,
    envelope,
    image_response,
    read_json,
)
from klein_widget.serving._wire import prediction_data, read_enhancer_body, sync_timed_out
from klein_widget.store._entry import GalleryEntry

__all__ = [
    "authorize",
    "authorize_and",
    "budget_text",
    "charge_state",
    "guard_logins",
    "image",
    "result",
    "submit",
    "task_data",
]

T = TypeVar("T")
TASK_ID = re.compile(r"[0-9a-f]{32}")
STORE_DOWN = (
    "The class's image store cannot keep images now ({}): nothing was sent and nothing "
    "charged. Tell your teacher."
)
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


def budget_text(student: Student, cost: int = PRICE_PER_IMAGE_MILLS) -> str:
    """What a student is told when a submit would pass their budget."""
    return (
        f"Your class budget of {_dollars(student.budget_mills)} is used up "
        f"({_dollars(student.left_mills)} left; an image costs {_dollars(cost)}): "
        "ask your teacher."
    )


def _presented(request: Request) -> str:
    """The credential a request carries: a bearer token, else the dashboard's cookie or
    ``?token=`` (what a wrong one is counted under)."""
    given = bearer_token(request) or request.cookies.get("klein_teacher")
    return given or request.query_params.get("token") or ""


def _locked_out(wait: float, whose: str) -> Problem:
    return Problem(
        429,
        f"Too many tries of this wrong token: try again in {wait:g} s, with {whose}.",
        headers={"Retry-After": str(int(wait))},
    )


def guard_logins(request: Request, *, whose: str) -> tuple[Gateway, str]:
    """The gateway and the bucket the request's token is counted under if it is wrong
    (`token_bucket`), or a 429 while that wrong token is held back. The teacher's token
    is never held back, so one stale tab cannot lock the teacher out; ``whose`` names the
    token to try again with."""
    gateway = gateway_of(request)
    gateway.ensure_started()
    given = _presented(request)
    if given and same_token(given, token_hash(gateway.teacher_token)):
        return gateway, token_bucket(given)
    wait = gateway.logins.wait(token_bucket(given))
    if wait:
        raise _locked_out(wait, whose)
    return gateway, token_bucket(given)


async def authorize(request: Request) -> Student:
    """The student whose token the request carries, or a 401 / 429 `Problem`. A right
    token is always let in (looked up first); only wrong ones are counted and held back."""
    student, _ = await authorize_and(request, lambda: None)
    return student


async def authorize_and(request: Request, then: Callable[[], T]) -> tuple[Student, T | None]:
    """`authorize`, and ``then()`` in the same trip to the database thread (one hop per
    request, not one per lookup: each hop is latency on a kept-alive connection);
    ``then`` runs only for a right token."""
    gateway = gateway_of(request)
    gateway.ensure_started()
    hub = await gateway.run(hub_student, request)  # a Hub user's request (gateway/_hub.py)
    if hub is not None:
        return hub, await gateway.run(then)
    token = bearer_token(request)
    if token is None:
        raise Problem(
            401,
            "No class token was sent: set WAVESPEED_API_KEY to the token your teacher gave "
            "you (ask your teacher if you have none).",
        )

    def lookup() -> tuple[Student | None, T | None]:
        found = gateway.db.student_by_token(token)
        return found, then() if found is not None and not found.revoked else None

    student, extra = await gateway.run(lookup)
    if student is None:
        bucket = token_bucket(token)
        wait = gateway.logins.wait(bucket)
        if wait:
            raise _locked_out(wait, "the token your teacher gave you")
        gateway.logins.failed(bucket)
        raise Problem(
            401, "This token is not one of this class's: ask your teacher for your token."
        )
    if student.revoked:
        raise Problem(401, "Your token was turned off by your teacher: ask your teacher.")
    return student, extra


def _own_task(request: Request, student: Student, task: GatewayTask | None) -> GatewayTask:
    gateway = gateway_of(request)
    task_id = request.path_params["task_id"]
    if task is None or (task.student != student.name and not gateway.public_gallery):
        raise Problem(
            404,
            f"No prediction with id {task_id[:40]!r} among yours: ids come from your "
            "submit's data.id.",
        )
    return task


async def _image_bytes(gateway: Gateway, task: GatewayTask) -> tuple[bytes, bool]:
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
    if status == "completed" and task.kind == "enhance":
        outputs = [task.text_output or ""]
    elif status == "completed" and task.request.base64_output:
        image, nsfw = await _image_bytes(gateway, task)
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
        ENHANCER_MODEL_ID if task.kind == "enhance" else MODEL_ID,
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


def _parse(model: str, body: dict[str, Any]) -> tuple[GenerationRequest, str | None]:
    """The request a body asks for, and the optimizer's style (None: its default)."""
    try:
        if model == ENHANCER_MODEL_ID:  # an image model: the optimizer's image mode only
            ask = read_enhancer_body(body, modes=("image",))
            return GenerationRequest(ask.text, sync_mode=ask.sync), ask.style
        return GenerationRequest.from_json(body), None
    except (ValueError, TypeError) as error:  # InvalidRequestError is a ValueError
        raise Problem(400, str(error)) from None


async def submit(request: Request) -> Response:
    """``POST /api/v3/{model}``: charge, queue (or answer from the store), answer."""
    student = await authorize(request)
    gateway = gateway_of(request)
    model = request.path_params["model"]
    if model not in (MODEL_ID, ENHANCER_MODEL_ID):
        raise Problem(404, f"Model {model[:80]!r} not found: this gateway serves {MODEL_ID}.")
    body = await read_json(request, gateway.max_body_bytes)
    asked, style = _parse(model, body)
    kind, cost = "image", PRICE_PER_IMAGE_MILLS
    if model == ENHANCER_MODEL_ID:
        kind, cost = "enhance", PRICE_PER_ENHANCE_MILLS
    made = None
    if kind == "image" and not asked.seed_drawn and asked.seed >= 0:
        # The store's one lookup by recipe key (its index and a file: off the loop); a class
        # on the real service never gets a stand-in left from a rehearsal on the emulator, nor
        # an image the teacher hid.
        def stored() -> GalleryEntry | None:
            found = gateway.gallery.lookup(asked, real_only=not gateway.upstream.simulated)
            return from_store(request, found)

        made = await run_in_threadpool(stored)
    db, name = gateway.db, student.name
    if made is not None:
        task = await gateway.run(
            db.open_task, name, kind, asked, 0, status="completed", upstream_id=made.task_id,
            cached=True,
        )  # fmt: skip
    else:
        problem = await gateway.store.problem() if kind == "image" else None
        if problem is not None:  # refuse before charging: it could not keep the image
            raise Problem(503, STORE_DOWN.format(problem), headers={"Retry-After": "60"})
        if kind == "image":  # being made right now for someone: share it
            share = not asked.seed_drawn and asked.seed >= 0
            task = await gateway.run(db.open_or_follow, name, asked, cost, share=share)
        else:
            task = await gateway.run(db.open_task, name, kind, asked, cost, style=style)
        if task is not None and task.status == "queued":
            gateway.dispatcher.enqueue(task)
    if task is None:
        now = await gateway.run(db.student, name) or student
        raise Problem(402, budget_text(now, cost))
    if asked.sync_mode and task.open:
        await gateway.dispatcher.wait_done(task.id, gateway.sync_window)
        task = await gateway.run(db.task, task.id) or task
    data = await task_data(request, task)
    after: Student | None = await gateway.run(db.student, name)
    data["gateway"].update(budget_fields(after or student))
    if asked.sync_mode and task.open:
        sync_timed_out(data)  # as WaveSpeed: keep polling data.urls.get
    return JSONResponse(envelope(data))


async def result(request: Request) -> Response:
    """``GET /api/v3/predictions/{id}/result`` (and without ``/result``)."""
    gateway = gateway_of(request)
    task_id = request.path_params["task_id"]

    def lookup() -> tuple[GatewayTask | None, GalleryEntry | None]:
        task = gateway.db.task(task_id) if TASK_ID.fullmatch(task_id) else None
        if task is None or task.status != "completed" or task.kind != "image":
            return task, None
        return task, gateway.gallery.entry(task.upstream_id or "")

    student, found = await authorize_and(request, lookup)
    task, entry = found or (None, None)
    task = _own_task(request, student, task)
    data = await task_data(request, task, entry)
    data["gateway"].update(budget_fields(student))  # the caller's, whoever's task it is
    return JSONResponse(envelope(data))


async def image(request: Request) -> Response:
    """``GET /gateway/images/{id}.png``: a completed task's image."""
    gateway = gateway_of(request)
    task_id = request.path_params["task_id"]
    task = await gateway.run(gateway.db.task, task_id) if TASK_ID.fullmatch(task_id) else None
    if task is None or task.status != "completed" or task.kind != "image":
        raise Problem(404, "Image not found: image links come from a completed task's outputs.")
    await gateway.run(served_to, request, task)
    data, _ = await _image_bytes(gateway, task)
    return image_response(data, "private, max-age=3600")
