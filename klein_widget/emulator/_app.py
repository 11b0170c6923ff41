"""The emulator's HTTP surface: WaveSpeed's v3 API for FLUX.2 [klein], as a Starlette app.

Routes (every JSON answer is the ``{"code", "message", "data"}`` envelope):

* ``POST /api/v3/<id>`` for each model of the family (``client/_family.py``; the 4B
  text-to-image is ``wavespeed-ai/flux-2-klein-4b/text-to-image``): submit (or, with
  ``enable_sync_mode``, submit and wait); validation by `_family_routes.read_order`
  (edits' ``images``, LoRAs) and `GenerationRequest.from_json`. Answers also carry
  ``price_mills``, the model's price billed (simulated), next to ``simulated``.
* ``POST /api/v3/media/uploads`` and its PUT / download URLs: `_uploads`.
* ``POST /api/v3/model/price``: a model's price (the emulator's own): `_family_routes`.
* ``POST /api/v3/wavespeed-ai/prompt-optimizer``: ``{"text", "mode", "style"}``; the
  enhanced prompt is ``data.outputs[0]``. Free, not rate limited.
* ``GET /api/v3/predictions/{id}/result`` and ``GET /api/v3/predictions/{id}``.
* ``POST /api/v3/predictions``: the account's prediction history, ``{"page",
  "page_size", "created_after", "created_before"}`` (ISO 8601), newest first; each item
  carries the ``input`` it was submitted with.
* ``GET /emulator/images/{id}/0.png``: the output image, no key needed (like a CDN).
* ``GET /``: what this server is.

Errors are JSON ``{"code": <status>, "message": ..., "data": null}`` with a 4xx status
(401 no or wrong key, 404 unknown task / model / route, 405, 413 body over
``max_body_bytes``, 415 not ``application/json``, 400 anything else wrong, 429 over the
rate limit with ``Retry-After``), except injected 502/504 faults, which are HTML gateway
pages as a real gateway sends. Auth, faults and hang-ups are in `_http`; errors, bodies
and the prediction JSON are shared with the gateway (`klein_widget.serving`).

Example:
    >>> app = create_app(inference_time=0.02)
    >>> app.state.emulator.inference_time
    0.02
"""

from __future__ import annotations

import asyncio
import base64
import math
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from os import PathLike
from typing import Any, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from klein_widget.client._family import DEFAULT_MODEL, MODELS, find_model
from klein_widget.client._models import ENHANCER_MODEL_ID, MODEL_ID
from klein_widget.emulator._family_routes import PRICE_ROUTES, history_input, read_order
from klein_widget.emulator._http import Gate, act, authorize, fault_response, gateway_page
from klein_widget.emulator._network import Latency
from klein_widget.emulator._prompts import MODES, enhance_prompt
from klein_widget.emulator._settings import Settings
from klein_widget.emulator._state import Emulator, Task
from klein_widget.emulator._uploads import UPLOAD_ROUTES
from klein_widget.serving._http import (
    EXCEPTION_HANDLERS,
    Problem,
    envelope,
    image_response,
    read_json,
)
from klein_widget.serving._wire import (
    prediction_data,
    read_enhancer_body,
    sync_timed_out,
    wire_time,
)
from klein_widget.store._pack import LessonPack, PackError, open_pack

__all__ = ["create_app"]


def _emulator(request: Request) -> Emulator:
    return cast(Emulator, request.app.state.emulator)


async def _task_json(request: Request, task: Task, *, status: str | None = None) -> dict[str, Any]:
    """The ``data`` of an envelope for ``task`` as it stands now (or with ``status`` forced)."""
    status = status or task.status(time.monotonic())
    base = str(request.base_url).rstrip("/")
    outputs: list[str] = []
    done = status == "completed"
    if done and task.text is not None:
        outputs = [task.text]
    elif done and task.request is not None and task.request.base64_output:
        png = await run_in_threadpool(task.image)  # rendering is CPU work: off the loop
        outputs = [base64.b64encode(png).decode("ascii")]
    elif done:
        outputs = [f"{base}/emulator/images/{task.id}/0.png"]
    data = prediction_data(
        base,
        task.id,
        task.model,
        status,
        outputs,
        created_at=task.created_at,
        nsfw=task.nsfw,
        error=task.fail_reason,
        inference_ms=task.inference_ms,
        # `create_app(simulated=False)` plays a real service (tests, rehearsals).
        simulated=getattr(request.app.state, "simulated", True),
    )
    data["price_mills"] = task.price_mills  # the emulator's own: this model's price (simulated)
    return data


# -- endpoints -----------------------------------------------------------------------------


async def index(request: Request) -> JSONResponse:
    """What this server is, for people and for readiness probes."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "name": "klein emulator",
            "about": "A local stand-in for WaveSpeed's API; images are placeholders.",
            "models": [*(m.id for m in MODELS), ENHANCER_MODEL_ID],
            "submit": f"{base}/api/v3/{MODEL_ID}",
            "result": f"{base}/api/v3/predictions/{{id}}/result",
            "lesson_packs": [pack.name for pack in _emulator(request).packs],
        }
    )


async def submit(request: Request) -> Response:
    """``POST /api/v3/{model}``: a model of the klein family or the prompt optimizer."""
    emu = _emulator(request)
    authorize(request, emu)
    model = request.path_params["model"]
    family = find_model(model) if model == model.lower() else None  # ids are lower case
    if family is None and model != ENHANCER_MODEL_ID:
        served = ", ".join([*(m.id for m in MODELS), ENHANCER_MODEL_ID])
        raise Problem(404, f"Model {model!r} not found: this emulator serves {served}.")
    body = await read_json(request, emu.max_body_bytes)
    if family is None:
        return await _enhance(request, emu, body)
    fault = emu.next_fault("submit")
    if isinstance(fault, int):
        return fault_response(fault)
    order = await read_order(request, emu, family, body)
    gen = order.request
    now = time.monotonic()
    wait = emu.rate_limited(now)
    if wait is not None:
        retry = max(1, math.ceil(wait))
        raise Problem(
            429,
            f"Too many requests: at most {emu.rate_limit} images per "
            f"{emu.rate_window:g} s. Retry in {retry} s.",
            headers={"Retry-After": str(retry)},
        )
    try:  # reading and checking a pack's image is file work: off the loop
        packed = emu.packs and family == DEFAULT_MODEL  # packs hold the default model's
        stored = await run_in_threadpool(emu.pack_image, gen) if packed else None
    except PackError as error:  # the pack changed on disk since the emulator started
        raise Problem(500, str(error)) from None
    task = emu.submit(
        gen,
        now,
        stored=stored,
        model=family,
        references=order.references,
        images=order.images,
        loras=order.loras,
    )
    _prerender(emu, task)
    act(fault)  # a "drop" here comes after the task was accepted, as the real risk is
    if gen.sync_mode:
        return await _wait_sync(request, emu, task)
    # Like the real service, an accepted task is reported "created"; polls show the rest.
    return JSONResponse(envelope(await _task_json(request, task, status="created")))


def _prerender(emu: Emulator, task: Task) -> None:
    """Draw the image while the task "runs", as a real server has it ready at completion.

    Otherwise every client would wait for the drawing after "completed" and the
    emulator's own CPU time would count against the client being measured.
    """

    async def render() -> None:
        await asyncio.sleep(max(0.0, task.start - time.monotonic()))
        await run_in_threadpool(task.image)
        task.prerendered = True

    if not task.fail_reason:
        job = asyncio.get_running_loop().create_task(render())
        emu.background.add(job)  # keep a reference until done
        job.add_done_callback(emu.background.discard)


async def _wait_sync(request: Request, emu: Emulator, task: Task) -> Response:
    fault = emu.next_fault("sync")
    remaining = task.finish - time.monotonic()
    window = emu.sync_timeout
    if fault is not None:
        # An injected timeout answers before the task is done; the task goes on.
        await asyncio.sleep(min(window or 0.0, max(0.0, remaining) / 2))
        return await _sync_timeout(request, task, str(fault))
    if window is not None and remaining > window:
        await asyncio.sleep(window)
        return await _sync_timeout(request, task, emu.faults.sync_timeout_style)
    await asyncio.sleep(max(0.0, remaining))
    return JSONResponse(envelope(await _task_json(request, task)))


async def _sync_timeout(request: Request, task: Task, style: str) -> Response:
    if style == "gateway":
        return gateway_page(504)
    data = await _task_json(request, task, status="processing")
    return JSONResponse(envelope(sync_timed_out(data)))


async def _enhance(request: Request, emu: Emulator, body: dict[str, Any]) -> Response:
    try:
        ask = read_enhancer_body(body, MODES)
    except ValueError as exc:  # InvalidRequestError is a ValueError
        raise Problem(400, str(exc)) from None
    task = emu.submit_text(enhance_prompt(ask.text, style=ask.style or "default", mode=ask.mode))
    if ask.sync:
        await asyncio.sleep(max(0.0, task.finish - time.monotonic()))
    return JSONResponse(envelope(await _task_json(request, task)))


async def result(request: Request) -> Response:
    """``GET /api/v3/predictions/{id}/result`` (and the same without ``/result``)."""
    emu = _emulator(request)
    answer = act(emu.next_fault("result"))
    if answer is not None:
        return answer
    authorize(request, emu)
    task_id = request.path_params["task_id"]
    task = emu.get(task_id)
    if task is None:
        raise Problem(
            404,
            f"Task not found: no prediction with id {task_id!r} on this server. "
            "Ids come from the submit answer's data.id.",
        )
    return JSONResponse(envelope(await _task_json(request, task)))


def _when(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, f"{name} must be an ISO 8601 time, not {value!r}.") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


async def history(request: Request) -> Response:
    """``POST /api/v3/predictions``: the account's predictions in a time window, by page."""
    emu = _emulator(request)
    authorize(request, emu)
    body = await read_json(request, emu.max_body_bytes)
    page, size = body.get("page", 1), body.get("page_size", 20)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (page, size)):
        raise Problem(400, "page and page_size must be whole numbers.")
    if page < 1 or not 1 <= size <= 100:
        raise Problem(400, "page starts at 1; page_size is 1-100.")
    found = emu.history(_when(body, "created_after"), _when(body, "created_before"))
    items = []
    for task in found[(page - 1) * size : page * size]:
        data = await _task_json(request, task) if task.text is not None else {}
        if task.request is not None:  # outputs as links: a listing never renders images
            status = task.status(time.monotonic())
            data = {"id": task.id, "model": task.model, "status": status,
                    "created_at": wire_time(task.created_at), "outputs": [], "simulated": True,
                    "input": history_input(task)}  # fmt: skip
        items.append(data)
    return JSONResponse(
        envelope({"page": page, "page_size": size, "total": len(found), "items": items})
    )


async def image(request: Request) -> Response:
    """``GET /emulator/images/{id}/0.png``: the output of a completed task."""
    emu = _emulator(request)
    answer = act(emu.next_fault("image"))
    if answer is not None:
        return answer
    task = emu.get(request.path_params["task_id"])
    ready = task is not None and task.request is not None
    if not ready or request.path_params["index"] != 0:
        raise Problem(404, "Image not found.")
    assert task is not None
    if task.status(time.monotonic()) != "completed":
        raise Problem(404, "Image not found: the task has not completed.")
    return image_response(await run_in_threadpool(task.image), "max-age=3600")


def create_app(
    settings: Settings | None = None,
    *,
    packs: Sequence[LessonPack | str | PathLike[str]] = (),
    simulated: bool = True,
    **knobs: Any,
) -> Starlette:
    """Build an emulator app; its live state is ``app.state.emulator`` (an `Emulator`).

    ``knobs`` are `Settings`' fields by name (``inference_time=0.02``, ``api_key=...``),
    over ``settings`` if given; an unknown name or a bad value is a `ValueError`.
    ``network_delay``: seconds of round trip added to every request (half each way; see
    `klein_widget.emulator._network`, which also says how ``connection_round_trips``
    charges new connections). ``tier``: ``"bronze"``, ``"silver"``, ``"gold"`` or
    ``"ultra"`` sets ``rate_limit`` and ``concurrency`` to that WaveSpeed tier's
    (per minute and at once), unless they are given too. ``packs``: lesson packs (paths
    or `LessonPack`s, each checked in full now): a submit one of them holds (a concrete
    seed, the same model, prompt and size) completes with the pack's image, so the
    official SDK and curl get the real image; everything else gets a drawn stand-in.
    ``simulated=False``: answers say ``"simulated": false``, as a real service behind a
    gateway does (for tests of how clients treat real and simulated images).

    Example:
        >>> import httpx
        >>> app = create_app(inference_time=0.02)
        >>> client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
        ...                            base_url="http://testserver")
        >>> app.state.emulator.accepted
        0
    """
    emulator = Emulator(
        settings,
        packs=[p if isinstance(p, LessonPack) else open_pack(p, verify=True) for p in packs],
        **knobs,
    )
    app = Starlette(
        routes=[
            *UPLOAD_ROUTES,  # before the catch-all submit path
            *PRICE_ROUTES,
            Route("/", index, methods=["GET"]),
            Route("/api/v3/predictions/{task_id}/result", result, methods=["GET"]),
            Route("/api/v3/predictions/{task_id}", result, methods=["GET"]),
            Route("/api/v3/predictions", history, methods=["POST"]),
            Route("/api/v3/{model:path}", submit, methods=["POST"]),
            Route("/emulator/images/{task_id}/{index:int}.png", image, methods=["GET"]),
        ],
        # Latency is outermost: the network is outside everything the server does.
        middleware=[Middleware(Latency, emulator=emulator), Middleware(Gate, emulator=emulator)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.emulator = emulator
    app.state.simulated = simulated
    return app
