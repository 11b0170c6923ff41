"""An image's parameters and the call that makes it again, both ways, in one place: the
gallery's entries, a rebuilt index and ``load_params`` read a `GenerationRequest` from
stored parameters (`request_from_params`) and turn it into keyword arguments for
``generate`` or, for an edit, ``edit`` (`call_params`).

Example:
    >>> call_params(request_from_params({"prompt": "a fox", "width": 512, "height": 512,
    ...                                  "seed": 7, "model": "9b"}))
    {'prompt': 'a fox', 'width': 512, 'height': 512, 'seed': 7, 'model': '9b'}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from klein_widget.client._family_inputs import family_from_params
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest

__all__ = ["call_params", "request_from_params"]


def request_from_params(params: Mapping[str, Any]) -> GenerationRequest:
    """The request stored ``params`` describe (`Generation.params`, a gallery file's
    embedded ones; older ones are 4B text-to-image). Raises `InvalidRequestError` (or
    ``TypeError``/``ValueError`` for a value of the wrong kind)."""
    sized = params.get("sized", True)  # an edit may have kept its first image's size
    model = params.get("model")
    return GenerationRequest(
        params.get("prompt"),  # type: ignore[arg-type]  # checked by the request
        params.get("width", DEFAULT_SIDE) if sized else None,
        params.get("height", DEFAULT_SIDE) if sized else None,
        params.get("seed", RANDOM_SEED),
        **family_from_params(dict(params), model if isinstance(model, str) else ""),
    )


def call_params(request: GenerationRequest) -> dict[str, Any]:
    """Keyword arguments that make ``request``'s image again: ``client.generate(**p)``,
    or for an edit (``request.is_edit``) ``client.edit(**p)`` with the URLs it sent."""
    made: dict[str, Any] = {
        "prompt": request.prompt,
        "width": request.width,
        "height": request.height,
        "seed": request.seed,
        "model": request.klein_model.weights if request.is_edit else request.model,
    }
    if request.is_edit:
        made["images"] = list(request.images)
    if request.loras:
        made["loras"] = list(request.loras)
    return made
