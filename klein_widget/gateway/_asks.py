"""What a student's submit asks for, read as WaveSpeed reads it, for any model of the family.

`read_ask` takes the submit path's model and the JSON body and gives an `Ask`: the
`GenerationRequest` (prompt, size, seed, modes), the `KleinModel`, an edit's ``images``
(1 to 4 http(s) URLs, in order) and the LoRA endpoint's ``loras`` (at most 3 of
``{"path", "scale"}``, scale 0 to 2). A model that takes no ``images`` (or no ``loras``)
refuses them, naming the one that does; every refusal is a 400 before anything is charged.
An edit may leave ``size`` out: upstream then keeps the first reference's size.

Example:
    >>> ask = read_ask("wavespeed-ai/flux-2-klein-4b/text-to-image-lora",
    ...                {"prompt": "a fox", "loras": [{"path": "a/b"}]})
    >>> ask.model.name, ask.loras
    ('4b-lora', (('a/b', 1.0),))
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from klein_widget.client._family import (
    DEFAULT_MODEL,
    LORA_SCALE_RANGE,
    MODELS,
    KleinModel,
    find_model,
)
from klein_widget.client._models import GenerationRequest
from klein_widget.client._recipe import Recipe
from klein_widget.gateway._rows import Inputs
from klein_widget.serving._http import Problem

__all__ = ["MAX_URL_CHARS", "Ask", "inputs_of", "model_at", "read_ask", "upstream_request"]

MAX_URL_CHARS = 2048  # an upload's download_url is ~150; a longer one is not an image link


@dataclass(frozen=True)
class Ask:
    """One submit as read: the request, its model, an edit's references, a LoRA list."""

    request: GenerationRequest
    model: KleinModel
    images: tuple[str, ...] = ()
    loras: tuple[tuple[str, float], ...] = ()
    sized: bool = True
    """False for an edit that left ``size`` out (the output keeps the first image's)."""


def model_at(path: str) -> KleinModel | None:
    """The family's model whose submit path is ``/api/v3/<path>``, or None."""
    model = find_model(path)
    return model if model is not None and model.id == path.strip().lower() else None


def _takers(field: str) -> str:
    return " or ".join(
        m.id for m in MODELS if (m.takes_images if field == "images" else m.takes_loras)
    )


def _images(model: KleinModel, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= model.max_images:
        raise Problem(
            400,
            f"images is required: a list of 1 to {model.max_images} image URLs (upload local "
            "files with POST /api/v3/media/uploads and send each download_url).",
        )
    for i, url in enumerate(value):
        parts = urlsplit(url) if isinstance(url, str) and len(url) <= MAX_URL_CHARS else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            shown = url[:80] if isinstance(url, str) else url
            raise Problem(400, f"images[{i}] must be an http(s) URL of an image, not {shown!r}.")
    return tuple(value)


def _loras(model: KleinModel, value: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, list) or len(value) > model.max_loras:
        raise Problem(
            400, f"loras must be a list of at most {model.max_loras} {{path, scale}} items."
        )
    low, high = LORA_SCALE_RANGE
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"path", "scale"}:
            raise Problem(400, f'loras[{i}] must be {{"path": ..., "scale": ...}}.')
        path, scale = item.get("path"), item.get("scale", 1.0)
        if not isinstance(path, str) or not path.strip() or len(path) > MAX_URL_CHARS:
            raise Problem(400, f"loras[{i}].path is required: a LoRA's URL or owner/repo.")
        if (
            isinstance(scale, bool)
            or not isinstance(scale, int | float)
            or not low <= scale <= high
        ):
            raise Problem(400, f"loras[{i}].scale must be a number from {low:g} to {high:g}.")
        out.append((path.strip(), float(scale)))
    return tuple(out)


def read_ask(path: str, body: dict[str, Any]) -> Ask:
    """The `Ask` of a submit to ``/api/v3/<path>``: a 404 `Problem` for a path outside the
    family, a 400 one for a body WaveSpeed would refuse."""
    model = model_at(path)
    if model is None:
        known = ", ".join(m.id for m in MODELS)
        raise Problem(404, f"Model {path[:80]!r} not found: this gateway serves {known}.")
    for field, takes in (("images", model.takes_images), ("loras", model.takes_loras)):
        if field in body and not takes:
            raise Problem(400, f"{model.id} takes no {field}: use {_takers(field)}.")
    images = _images(model, body.get("images")) if model.takes_images else ()
    loras = _loras(model, body.get("loras", [])) if model.takes_loras else ()
    sized = body.get("size") is not None or not model.takes_images
    try:
        request = GenerationRequest.from_json(body)
    except (ValueError, TypeError) as error:  # InvalidRequestError is a ValueError
        raise Problem(400, str(error)) from None
    return Ask(request, model, images, loras, sized)


def inputs_of(ask: Ask, request: GenerationRequest, references: tuple[str, ...]) -> Inputs:
    """An image task's `Inputs`: ``request`` is ``ask.request`` with its concrete seed, and
    ``references`` the sha256 of each image (`reference_hashes`). The recipe key is the one
    `recipe_key` of the model's id, prompt, size (0*0: an edit's first reference's), seed,
    references and LoRAs, so a 4B and a 9B request never share, nor two edits of different
    photos, while two uploads of the same photo do."""
    r, model = request, ask.model
    width, height = (r.width, r.height) if ask.sized else (0, 0)
    recipe = Recipe(model.id, r.prompt, width, height, r.seed, references, ask.loras)
    return Inputs(
        model.name, ask.images, references, ask.loras, ask.sized, recipe.key,
        model.price_confirmed,
    )  # fmt: skip


def upstream_request(request: GenerationRequest, inputs: Inputs) -> GenerationRequest:
    """What the gateway's client sends upstream (and looks up in the class's store): the
    request with the task's model, images (their hashes as its references), LoRAs, and no
    size for an edit that gave none. The client's `GenerationRequest` carries the family's
    fields; only those a task has are set."""
    fields: dict[str, Any] = {}
    if inputs.model != DEFAULT_MODEL.name:
        fields["model"] = inputs.model
    if inputs.images:
        fields.update(images=inputs.images, references=inputs.references)
    if inputs.loras:
        fields["loras"] = inputs.loras
    if not inputs.sized:
        fields.update(width=None, height=None)
    return dataclasses.replace(request, **fields)
