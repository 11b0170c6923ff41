"""The students' side: WaveSpeed's v3 routes for every model of the FLUX.2 [klein] family
(`klein_widget.client._family`) and the prompt optimizer, answered by the gateway in
WaveSpeed's envelope.

* ``POST /api/v3/{model}``: submit to any family model's path (``enable_sync_mode``
  waits; ``enable_base64_output`` inlines the image); an edit's ``images`` and the LoRA
  endpoint's ``loras`` are checked (`read_ask`) and passed on. The student's budget is
  charged the model's price, or the family's highest known price where WaveSpeed
  publishes none (``data.gateway.price_confirmed`` is false then). A concrete seed any
  student already made with the same recipe (model, prompt, size, seed, references by
  content, LoRAs) comes from the class's store, free (``data.gateway.cached``).
* ``GET /api/v3/predictions/{id}/result`` and ``GET /api/v3/predictions/{id}``: a
  student's own tasks only (every student's when the class gallery is public); a queued
  task says its place in line and the expected wait in ``data.gateway``.
* ``GET /gateway/images/{id}.png``: the image, served by the gateway (ids are 128-bit
  random, like a CDN's links).

Uploads and the price endpoint are `_upload_routes`'; who a request is, `_auth`'s; a
task's answer, `_answer`'s. Errors are the envelope with a 4xx status and a message saying
what to do. The error shape, the prediction JSON, the 5004 sync timeout and the
optimizer's body checks are the emulator's too: one implementation of WaveSpeed's wire
format (`klein_widget.serving`).

Example:
    $ curl -H "Authorization: Bearer $TOKEN" -d '{"prompt": "a fox", "seed": 7}' \\
        $GATEWAY/api/v3/wavespeed-ai/flux-2-klein-9b/text-to-image
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from klein_widget.client._family import MODELS, find_model
from klein_widget.client._models import (
    ENHANCER_MODEL_ID,
    PRICE_PER_ENHANCE_MILLS,
    GenerationRequest,
)
from klein_widget.gateway._answer import budget_text, image_bytes, task_data
from klein_widget.gateway._auth import TEACHER_COOKIE, authorize, authorize_and, is_teacher
from klein_widget.gateway._rows import GatewayTask, Inputs, Student, budget_fields
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.gateway._upload_routes import reference_hashes
from klein_widget.serving._http import Problem, envelope, image_response, read_json
from klein_widget.serving._wire import read_enhancer_body, sync_timed_out
from klein_widget.store._entry import GalleryEntry

__all__ = ["TASK_ID", "image", "read_ask", "result", "submit"]

TASK_ID = re.compile(r"[0-9a-f]{32}")
STORE_DOWN = (
    "The class's image store cannot keep images now ({}): nothing was sent and nothing "
    "charged. Tell your teacher."
)


def read_ask(path: str, body: dict[str, Any]) -> GenerationRequest:
    """A submit to ``/api/v3/<path>`` read as WaveSpeed reads it, by the client's own
    `GenerationRequest.from_json` for the path's model (one rule for what a body may hold:
    prompt, size, seed, modes, an edit's ``images``, the LoRA endpoint's ``loras``; a model
    that takes no ``images`` or ``loras`` refuses them; an edit may leave ``size`` out).
    A 404 `Problem` for a path outside the family, a 400 one for a body WaveSpeed would
    refuse: both before anything is charged.

    Example:
        >>> read_ask("wavespeed-ai/flux-2-klein-4b/text-to-image-lora",
        ...          {"prompt": "a fox", "loras": [{"path": "a/b"}]}).loras
        (('a/b', 1.0),)
    """
    model = find_model(path)
    if model is None or model.id != path.strip().lower():
        known = ", ".join(m.id for m in MODELS)
        raise Problem(404, f"Model {path[:80]!r} not found: this gateway serves {known}.")
    try:
        return GenerationRequest.from_json(body, model)
    except (ValueError, TypeError) as error:  # InvalidRequestError is a ValueError
        raise Problem(400, str(error)) from None


async def _queued(
    gateway: Gateway, student: Student, task: GatewayTask | None, cost: int, confirmed: bool
) -> GatewayTask:
    """A task just charged and recorded, queued if it waits for a slot; a 402 saying what
    is left when the budget refused it (``None``)."""
    if task is None:
        now = await gateway.run(gateway.db.student, student.name) or student
        raise Problem(402, budget_text(now, cost, confirmed))
    if task.status == "queued":
        gateway.dispatcher.enqueue(task)
    return task


async def _enhance(gateway: Gateway, student: Student, body: dict[str, Any]) -> GatewayTask:
    """An optimizer run: charged its price and queued (the optimizer's image mode only)."""
    try:
        ask = read_enhancer_body(body, modes=("image",))
        asked = GenerationRequest(ask.text, sync_mode=ask.sync)
    except (ValueError, TypeError) as error:  # InvalidRequestError is a ValueError
        raise Problem(400, str(error)) from None
    db, cost = gateway.db, PRICE_PER_ENHANCE_MILLS
    task = await gateway.run(db.open_task, student.name, "enhance", asked, cost, style=ask.style)
    return await _queued(gateway, student, task, cost, True)


async def _image(gateway: Gateway, student: Student, asked: GenerationRequest) -> GatewayTask:
    """An image task: from the class's store (free), following the same recipe being made
    now (free), or charged the model's price (reserved where unconfirmed) and queued."""
    references, sent = await reference_hashes(gateway, asked.images)  # a 400 before a charge
    if references:  # keyed by content: two uploads of one photo are one reference
        asked = dataclasses.replace(asked, images=sent, references=references)
    asked = asked.with_concrete_seed()  # the key of a drawn seed is its own
    fixed = not asked.seed_drawn
    # Where the model's price is unconfirmed: the family's highest known price, reserved.
    cost, confirmed = gateway.price(asked.klein_model)
    inputs = Inputs.of(asked, confirmed)
    db, name = gateway.db, student.name
    made = None
    if fixed:
        # The store's one lookup by recipe key (its index and a file: off the loop); a class
        # on the real service never gets a stand-in left from a rehearsal on the emulator, nor
        # an image the teacher hid (that one is made anew, and paid).
        def stored() -> GalleryEntry | None:
            found = gateway.gallery.lookup(asked, real_only=not gateway.upstream.simulated)
            return None if found is None or gateway.db.is_hidden(found.task_id) else found

        made = await run_in_threadpool(stored)
    if made is not None:
        hit: GatewayTask | None = await gateway.run(
            db.open_task, name, "image", asked, 0, status="completed", upstream_id=made.task_id,
            cached=True, inputs=inputs,
        )  # fmt: skip
        if hit is not None:  # None: the token was revoked meanwhile
            return hit
        raise Problem(401, "Your token was turned off by your teacher: ask your teacher.")
    problem = await gateway.store.problem()
    if problem is not None:  # refuse before charging: it could not keep the image
        raise Problem(503, STORE_DOWN.format(problem), headers={"Retry-After": "60"})
    # Being made right now for someone (the same recipe key): share it.
    task = await gateway.run(db.open_or_follow, name, asked, cost, share=fixed, inputs=inputs)
    return await _queued(gateway, student, task, cost, confirmed)


async def submit(request: Request) -> Response:
    """``POST /api/v3/{model}``: charge, queue (or answer from the store), answer."""
    student = await authorize(request)
    gateway = gateway_of(request)
    path = request.path_params["model"]
    body = await read_json(request, gateway.max_body_bytes)
    if path == ENHANCER_MODEL_ID:
        task = await _enhance(gateway, student, body)
    else:
        task = await _image(gateway, student, read_ask(path, body))
    sync = task.request.sync_mode
    if sync and task.open:
        await gateway.dispatcher.wait_done(task.id, gateway.sync_window)
        now: GatewayTask | None = await gateway.run(gateway.db.task, task.id)
        task = now or task
    data = await task_data(request, task)
    after: Student | None = await gateway.run(gateway.db.student, student.name)
    data["gateway"].update(budget_fields(after or student))
    if sync and task.open:
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
    if task is None or (task.student != student.name and not gateway.public_gallery):
        raise Problem(
            404,
            f"No prediction with id {task_id[:40]!r} among yours: ids come from your "
            "submit's data.id.",
        )
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
    # A hidden image is served to the teacher alone (by the dashboard's cookie, so the
    # dashboard's own gallery still shows it).
    hidden = await gateway.run(gateway.db.is_hidden, task.upstream_id)
    if hidden and not is_teacher(gateway, request.cookies.get(TEACHER_COOKIE)):
        raise Problem(404, "Image not available: your teacher hid it from the class.")
    data, _ = await image_bytes(gateway, task)
    return image_response(data, "private, max-age=3600")
