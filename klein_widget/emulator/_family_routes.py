"""The klein family in the emulator: what each model's submit takes, and its price.

Every model of `klein_widget.client._family.MODELS` is served at its own path
(``/api/v3/<id>``), its body read as WaveSpeed reads it:

* every model: ``prompt``, ``size`` (``"W*H"``), ``seed``, ``enable_sync_mode``,
  ``enable_base64_output`` (`GenerationRequest.from_json`);
* an edit (``.../edit``): ``images``, 1 to 4 image URLs, required; ``size`` optional,
  left out = the first image's size (brought into the model's range, aspect kept);
* the LoRA endpoint: ``loras``, a list of ``{"path": <URL or owner/repo>, "scale": <0-2,
  default 1>}`` (at most 3: the real limit is unconfirmed);
* a model that takes no ``images`` (or no ``loras``) refuses them, naming the one that does.

The emulator never goes to the network: an image URL must be one of its own (an upload's
``download_url`` or an output) or served on loopback; anything else is refused with a
400 before anything is billed, as is an image it cannot read.

``POST /api/v3/model/price`` with ``{"model_id", "inputs"}`` answers the emulator's own
price. WaveSpeed's answer shape is unconfirmed; the emulator and the gateway write one
guess (`klein_widget.serving._wire.price_data`): ``price_source`` says where the figure
comes from (WaveSpeed's page, or "unconfirmed: the family's highest known price") and
``price_confirmed`` whether WaveSpeed publishes it (a client does not take a guess as a price).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from klein_widget.client._config import is_local
from klein_widget.client._family import (
    LORA_SCALE_RANGE,
    MODELS,
    KleinModel,
    find_model,
)
from klein_widget.client._models import GenerationRequest
from klein_widget.client._transport import shared_ssl_context
from klein_widget.emulator._http import authorize, emulator_of
from klein_widget.emulator._render import open_reference
from klein_widget.serving._http import Problem, envelope, read_json
from klein_widget.serving._wire import price_data

if TYPE_CHECKING:
    from klein_widget.emulator._state import Emulator

__all__ = ["PRICE_ROUTES", "Order", "read_order"]

_FETCH_TIMEOUT = 10.0  # seconds for one loopback reference


@dataclass(frozen=True)
class Order:
    """One submit as read: the request, an edit's reference images (and their URLs as
    sent), a LoRA list."""

    request: GenerationRequest
    references: tuple[bytes, ...] = ()
    loras: tuple[tuple[str, float], ...] = ()
    images: tuple[str, ...] = ()


def _takers(field: str) -> str:
    """The models that take ``images`` (or ``loras``), for an error message."""
    return " or ".join(
        m.id for m in MODELS if (m.takes_images if field == "images" else m.takes_loras)
    )


def _loras(model: KleinModel, value: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, list) or len(value) > model.max_loras:
        raise Problem(
            400, f"loras must be a list of at most {model.max_loras} {{path, scale}} items."
        )
    low, high = LORA_SCALE_RANGE
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"path", "scale"}:
            raise Problem(400, f'loras[{i}] must be {{"path": ..., "scale": ...}}, not {item!r}.')
        path, scale = item.get("path"), item.get("scale", 1.0)
        if not isinstance(path, str) or not path.strip():
            raise Problem(400, f"loras[{i}].path is required: a LoRA's URL or owner/repo.")
        if (
            isinstance(scale, bool)
            or not isinstance(scale, int | float)
            or not low <= scale <= high
        ):
            raise Problem(400, f"loras[{i}].scale must be a number from {low:g} to {high:g}.")
        out.append((path.strip(), float(scale)))
    return tuple(out)


async def _fetch(request: Request, emu: Emulator, url: object, i: int) -> bytes:
    """The bytes of ``images[i]``: from this emulator itself, or over loopback."""
    where = f"images[{i}]"
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Problem(400, f"{where} must be an http(s) URL of an image, not {url!r}.")
    if parts.netloc == request.url.netloc:  # one of ours: no request to ourselves
        data = emu.uploads.find(parts.path) or _output(emu, parts.path)
        if data is None:
            raise Problem(400, f"{where}: no upload or output at {url} on this emulator.")
        return data
    if not is_local(parts.geturl()):
        raise Problem(
            400,
            f"{where}: the emulator never goes to the network, and {parts.hostname} is not "
            "loopback: upload the image (POST /api/v3/media/uploads) and send its download_url.",
        )
    limit = emu.uploads.max_bytes
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(
                timeout=_FETCH_TIMEOUT, trust_env=False, verify=shared_ssl_context()
            ) as client,
            client.stream("GET", parts.geturl()) as answer,
        ):
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise Problem(400, f"{where} is larger than {limit} bytes.")
    except httpx.HTTPError as exc:
        raise Problem(400, f"{where}: could not fetch {url} ({type(exc).__name__}).") from None
    if answer.status_code != 200:
        raise Problem(400, f"{where}: fetching {url} answered HTTP {answer.status_code}.")
    return bytes(body)


def _output(emu: Emulator, path: str) -> bytes | None:
    """A completed task's image, by its ``/emulator/images/{id}/0.png`` path."""
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[:2] != ["emulator", "images"] or parts[3] != "0.png":
        return None
    task = emu.get(parts[2])
    if task is None or task.request is None or task.status(time.monotonic()) != "completed":
        return None
    return task.image()


def _fit(model: KleinModel, size: tuple[int, int]) -> str:
    """The first reference's size, scaled into the model's range (aspect kept)."""
    w, h = size
    scale = min(1.0, model.max_side / max(w, h))
    scale = max(scale, model.min_side / min(w, h))
    w, h = (min(model.max_side, max(model.min_side, round(v * scale))) for v in (w, h))
    return f"{w}*{h}"


async def read_order(
    request: Request, emu: Emulator, model: KleinModel, body: dict[str, Any]
) -> Order:
    """Validate a submit body for ``model`` as WaveSpeed does; a 400 `Problem` otherwise."""
    for field, takes in (("images", model.takes_images), ("loras", model.takes_loras)):
        if field in body and not takes:
            raise Problem(400, f"{model.id} takes no {field}: use {_takers(field)}.")
    references: tuple[bytes, ...] = ()
    urls: tuple[str, ...] = ()
    if model.takes_images:
        images = body.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= model.max_images:
            raise Problem(
                400,
                f"images is required: a list of 1 to {model.max_images} image URLs "
                "(upload local files with POST /api/v3/media/uploads).",
            )
        references = tuple([await _fetch(request, emu, url, i) for i, url in enumerate(images)])
        urls = tuple(images)  # each checked by _fetch: an http(s) URL
        sizes = []
        for i, data in enumerate(references):
            try:  # decoding is CPU work: off the loop
                sizes.append((await run_in_threadpool(open_reference, data)).size)
            except ValueError as exc:
                raise Problem(400, f"images[{i}]: {exc}.") from None
        if body.get("size") is None:
            body = {**body, "size": _fit(model, sizes[0])}
    loras = _loras(model, body.get("loras", [])) if model.takes_loras else ()
    try:
        gen = GenerationRequest.from_json(body, model)
    except (ValueError, TypeError) as exc:  # InvalidRequestError is a ValueError
        raise Problem(400, str(exc)) from None
    return Order(gen, references, loras, urls)


def price_of(model: KleinModel) -> dict[str, Any]:
    """The price endpoint's ``data`` for ``model``: its price, or the family's highest."""
    source = (
        model.price_source
        if model.price_confirmed
        else f"{model.price_source}: the family's highest known price"
    )
    return price_data(
        model, model.reserve_mills, confirmed=model.price_confirmed, source=source, simulated=True
    )


async def model_price(request: Request) -> Response:
    """``POST /api/v3/model/price``: ``{"model_id", "inputs"}`` → this model's price."""
    emu = emulator_of(request)
    authorize(request, emu)
    body = await read_json(request, emu.max_body_bytes)
    model_id, inputs = body.get("model_id"), body.get("inputs", {})
    model = find_model(model_id) if isinstance(model_id, str) else None
    if model is None:
        known = ", ".join(m.id for m in MODELS)
        raise Problem(404, f"Model {model_id!r} not found: this emulator prices {known}.")
    if not isinstance(inputs, dict):
        raise Problem(400, f"inputs must be a JSON object (the submit body), not {inputs!r}.")
    return JSONResponse(envelope(price_of(model)))


PRICE_ROUTES = [Route("/api/v3/model/price", model_price, methods=["POST"])]
