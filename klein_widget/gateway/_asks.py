"""What a student's submit asks for, read as WaveSpeed reads it, for any model of the family.

`read_ask` takes the submit path's model and the JSON body and gives an `Ask`: the
`KleinModel` and the client's own `GenerationRequest.from_json` for it (one rule for what
a body may hold: prompt, size, seed, modes, an edit's ``images`` (1 to 4 http(s) URLs),
the LoRA endpoint's ``loras`` (at most 3 of ``{"path", "scale"}``, scale 0 to 2); a model
that takes no ``images`` or ``loras`` refuses them). Every refusal is a 400 before
anything is charged. An edit may leave ``size`` out: upstream then keeps the first
reference's size.

A task's `Inputs` come from its request (`Inputs.of`), once the references' content
hashes have replaced their URLs' text (`reference_hashes`).

Example:
    >>> ask = read_ask("wavespeed-ai/flux-2-klein-4b/text-to-image-lora",
    ...                {"prompt": "a fox", "loras": [{"path": "a/b"}]})
    >>> ask.model.name, ask.request.loras
    ('4b-lora', (('a/b', 1.0),))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from klein_widget.client._family import MODELS, KleinModel, find_model
from klein_widget.client._models import GenerationRequest
from klein_widget.serving._http import Problem

__all__ = ["Ask", "model_at", "read_ask"]


@dataclass(frozen=True)
class Ask:
    """One submit as read: its model and its request (an edit's references are still its
    URLs' hashes here: the submit puts the content's in)."""

    request: GenerationRequest
    model: KleinModel


def model_at(path: str) -> KleinModel | None:
    """The family's model whose submit path is ``/api/v3/<path>``, or None."""
    model = find_model(path)
    return model if model is not None and model.id == path.strip().lower() else None


def read_ask(path: str, body: dict[str, Any]) -> Ask:
    """The `Ask` of a submit to ``/api/v3/<path>``: a 404 `Problem` for a path outside the
    family, a 400 one for a body WaveSpeed would refuse."""
    model = model_at(path)
    if model is None:
        known = ", ".join(m.id for m in MODELS)
        raise Problem(404, f"Model {path[:80]!r} not found: this gateway serves {known}.")
    try:
        return Ask(GenerationRequest.from_json(body, model), model)
    except (ValueError, TypeError) as error:  # InvalidRequestError is a ValueError
        raise Problem(400, str(error)) from None
