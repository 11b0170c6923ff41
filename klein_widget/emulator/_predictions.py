"""The emulator's reads of its predictions: a task's answer, the account's history, the
output image (the submits that make them are in `klein_widget.emulator._app`).

* ``GET /api/v3/predictions/{id}/result`` and ``GET /api/v3/predictions/{id}``;
* ``POST /api/v3/predictions``: the account's prediction history, ``{"page",
  "page_size", "created_after", "created_before"}`` (ISO 8601), newest first; each item
  carries the ``input`` it was submitted with: ``prompt``, ``size``, ``seed``, and an
  edit's ``images`` and a LoRA run's ``loras`` when it had them (`submitted_input`);
* ``GET /emulator/images/{id}/0.png``: the output image, no key needed (like a CDN).

Example:
    >>> sorted(submitted_input(Task("t", "m", datetime.now(timezone.utc), 0, 0, 0)))
    []
"""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from klein_widget.emulator._http import act, authorize, emulator_of
from klein_widget.emulator._task import Task
from klein_widget.serving._http import Problem, envelope, image_response, read_json
from klein_widget.serving._wire import prediction_data, wire_time

__all__ = ["PREDICTION_ROUTES", "submitted_input", "task_json"]


async def task_json(request: Request, task: Task, *, status: str | None = None) -> dict[str, Any]:
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


async def result(request: Request) -> Response:
    """``GET /api/v3/predictions/{id}/result`` (and the same without ``/result``)."""
    emu = emulator_of(request)
    act(emu.next_fault("result"))
    authorize(request, emu)
    task_id = request.path_params["task_id"]
    task = emu.get(task_id)
    if task is None:
        raise Problem(
            404,
            f"Task not found: no prediction with id {task_id!r} on this server. "
            "Ids come from the submit answer's data.id.",
        )
    return JSONResponse(envelope(await task_json(request, task)))


def _when(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Problem(400, f"{name} must be an ISO 8601 time, not {value!r}.") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def submitted_input(task: Task) -> dict[str, Any]:
    """What an image task was asked for, as the history lists it: ``prompt``, ``size`` and
    ``seed`` (the one drawn for a -1), plus ``images`` and ``loras`` when it had them."""
    r = task.request
    if r is None:
        return {}
    given: dict[str, Any] = {"prompt": r.prompt, "size": f"{r.width}*{r.height}", "seed": r.seed}
    if task.image_urls:
        given["images"] = list(task.image_urls)
    if task.loras:
        given["loras"] = [{"path": path, "scale": scale} for path, scale in task.loras]
    return given


async def history(request: Request) -> Response:
    """``POST /api/v3/predictions``: the account's predictions in a time window, by page."""
    emu = emulator_of(request)
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
        if task.request is None:  # the prompt optimizer: its answer as it stands
            items.append(await task_json(request, task))
            continue
        # Outputs as links: a listing never renders images.
        items.append(
            {
                "id": task.id,
                "model": task.model,
                "status": task.status(time.monotonic()),
                "created_at": wire_time(task.created_at),
                "outputs": [],
                "simulated": True,
                "input": submitted_input(task),
            }
        )
    return JSONResponse(
        envelope({"page": page, "page_size": size, "total": len(found), "items": items})
    )


async def image(request: Request) -> Response:
    """``GET /emulator/images/{id}/0.png``: the output of a completed task."""
    emu = emulator_of(request)
    act(emu.next_fault("image"))
    task = emu.get(request.path_params["task_id"])
    ready = task is not None and task.request is not None
    if not ready or request.path_params["index"] != 0:
        raise Problem(404, "Image not found.")
    assert task is not None
    if task.status(time.monotonic()) != "completed":
        raise Problem(404, "Image not found: the task has not completed.")
    return image_response(await run_in_threadpool(task.image), "max-age=3600")


PREDICTION_ROUTES = [
    Route("/api/v3/predictions/{task_id}/result", result, methods=["GET"]),
    Route("/api/v3/predictions/{task_id}", result, methods=["GET"]),
    Route("/api/v3/predictions", history, methods=["POST"]),
    Route("/emulator/images/{task_id}/{index:int}.png", image, methods=["GET"]),
]
"""The routes of this module, in the order they must be matched (before the submit's)."""
