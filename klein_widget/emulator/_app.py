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
* the reads: a task's result, the account's prediction history (each item with every
  input it was submitted with) and the output images: `_predictions`.
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
import math
import time
from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from klein_widget.client._family import DEFAULT_MODEL, MODELS, find_model
from klein_widget.client._models import ENHANCER_MODEL_ID, MODEL_ID
from klein_widget.emulator._family_routes import PRICE_ROUTES, read_order
from klein_widget.emulator._http import Gate, Latency, act, authorize, emulator_of, fault_response
from klein_widget.emulator._predictions import PREDICTION_ROUTES, task_json
from klein_widget.emulator._prompts import MODES, enhance_prompt
from klein_widget.emulator._settings import Knobs, Settings
from klein_widget.emulator._state import Emulator, Task
from klein_widget.emulator._uploads import UPLOAD_ROUTES
from klein_widget.serving._http import EXCEPTION_HANDLERS, Problem, envelope, read_json
from klein_widget.serving._wire import read_enhancer_body, sync_timed_out
from klein_widget.store._pack import LessonPack, PackError, open_pack

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

__all__ = ["create_app"]

_SERVED = (*(m.id for m in MODELS), ENHANCER_MODEL_ID)  # the models this emulator answers


# -- endpoints -----------------------------------------------------------------------------


async def index(request: Request) -> JSONResponse:
    """What this server is, for people and for readiness probes."""
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "name": "klein emulator",
            "about": "A local stand-in for WaveSpeed's API; images are placeholders.",
            "models": list(_SERVED),
            "submit": f"{base}/api/v3/{MODEL_ID}",
            "result": f"{base}/api/v3/predictions/{{id}}/result",
            "lesson_packs": [pack.name for pack in emulator_of(request).packs],
        }
    )


async def submit(request: Request) -> Response:
    """``POST /api/v3/{model}``: a model of the klein family or the prompt optimizer."""
    emu = emulator_of(request)
    authorize(request, emu)
    model = request.path_params["model"]
    family = find_model(model) if model == model.lower() else None  # ids are lower case
    if family is None and model != ENHANCER_MODEL_ID:
        raise Problem(404, f"Model {model!r} not found: this emulator serves {', '.join(_SERVED)}.")
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
        image_urls=order.images,
        loras=order.loras,
    )
    _prerender(emu, task)
    act(fault)  # a "drop" here comes after the task was accepted, as the real risk is
    if gen.sync_mode:
        return await _wait_sync(request, emu, task)
    # Like the real service, an accepted task is reported "created"; polls show the rest.
    return JSONResponse(envelope(await task_json(request, task, status="created")))


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
    return JSONResponse(envelope(await task_json(request, task)))


async def _sync_timeout(request: Request, task: Task, style: str) -> Response:
    if style == "gateway":
        return fault_response(504)  # a gateway's HTML page
    data = await task_json(request, task, status="processing")
    return JSONResponse(envelope(sync_timed_out(data)))


async def _enhance(request: Request, emu: Emulator, body: dict[str, Any]) -> Response:
    try:
        ask = read_enhancer_body(body, MODES)
    except ValueError as exc:  # InvalidRequestError is a ValueError
        raise Problem(400, str(exc)) from None
    task = emu.submit_text(enhance_prompt(ask.text, style=ask.style or "default", mode=ask.mode))
    if ask.sync:
        await asyncio.sleep(max(0.0, task.finish - time.monotonic()))
    return JSONResponse(envelope(await task_json(request, task)))


def create_app(
    settings: Settings | None = None,
    *,
    packs: Sequence[LessonPack | str | PathLike[str]] = (),
    simulated: bool = True,
    **knobs: Unpack[Knobs],
) -> Starlette:
    """Build an emulator app; its live state is ``app.state.emulator`` (an `Emulator`).

    ``knobs`` are `Settings`' fields by name (``inference_time=0.02``, ``api_key=...``),
    over ``settings`` if given; an unknown name or a bad value is a `ValueError`.
    ``network_delay``: seconds of round trip added to every request (half each way; see
    `klein_widget.emulator._http`, which also says how ``connection_round_trips``
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
            *PREDICTION_ROUTES,
            Route("/", index, methods=["GET"]),
            Route("/api/v3/{model:path}", submit, methods=["POST"]),
        ],
        # Latency is outermost: the network is outside everything the server does.
        middleware=[Middleware(Latency, emulator=emulator), Middleware(Gate, emulator=emulator)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.emulator = emulator
    app.state.simulated = simulated
    return app
