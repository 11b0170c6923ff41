"""The family's inputs as the doors write them (``%klein``, ``klein``, every snippet): a
LoRA as ``URL[:SCALE]`` (read by `lora_from_text`, written by `lora_text`), an edit's
references as file names or URLs (`reference_words`), the model as its weights
(`weights_name`), and which values a snippet writes (`snippet_values`). One rule each, so
a snippet reads back as what made the image.

A last ``:`` part without a ``/`` is a LoRA's scale, so URLs keep their ``https:``; the
scale is 1 when left out, and from 0 to 2 (`LORA_SCALE_RANGE`).

Example:
    >>> lora_from_text("owner/watercolour:0.8"), lora_from_text("https://x.test/ink.safetensors")
    (('owner/watercolour', 0.8), ('https://x.test/ink.safetensors', 1.0))
    >>> lora_text(("owner/watercolour", 0.8)), lora_text(("https://x.test/ink.safetensors", 1.0))
    ('owner/watercolour:0.8', 'https://x.test/ink.safetensors')
"""

from __future__ import annotations

from dataclasses import dataclass

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import DEFAULT_MODEL, LORA_SCALE_RANGE
from klein_widget.client._family_inputs import url_sha256
from klein_widget.client._models import GenerationRequest

__all__ = [
    "LORA_EXAMPLE",
    "ReferenceWord",
    "lora_from_text",
    "lora_text",
    "reference_words",
    "snippet_values",
    "weights_name",
]

LORA_EXAMPLE = "owner/watercolour:0.8"


def lora_from_text(text: str, flag: str = "--lora") -> tuple[str, float]:
    """``URL[:SCALE]`` as ``(path, scale)``; anything else is an `InvalidRequestError`
    (field ``loras``) that says what ``flag`` takes."""
    path, colon, tail = text.strip().rpartition(":")
    if not colon or "/" in tail:
        path, tail = text.strip(), "1"
    low, high = LORA_SCALE_RANGE
    try:
        scale = float(tail)
    except ValueError:  # "style:" or "style:abc"
        scale = float("nan")
    if not path or not low <= scale <= high:  # nan fails the range too
        raise InvalidRequestError(
            f"{flag} {text}: give URL[:SCALE], a LoRA's URL or owner/repo and a scale from "
            f"{low:g} to {high:g}, e.g. {flag} {LORA_EXAMPLE} (the scale defaults to 1)",
            field="loras",
        )
    return path, scale


def lora_text(lora: tuple[str, float]) -> str:
    """``(path, scale)`` as ``URL[:SCALE]`` (no scale written when it is 1)."""
    path, scale = lora
    return path if scale == 1 else f"{path}:{float(scale)!r}"  # every digit kept


@dataclass(frozen=True)
class ReferenceWord:
    """One reference of an edit as a snippet names it: the URL the user gave, or (an
    uploaded file, bytes or image) a neutral file name standing for that file."""

    word: str
    uploaded: bool  # True: ``word`` is a file name, its bytes uploaded first
    sha256: str


def reference_words(request: GenerationRequest) -> tuple[ReferenceWord, ...]:
    """The request's references, in order, as a snippet writes them: a URL given as a URL
    is kept (its hash is the URL's own); anything uploaded is ``reference-N.png``, never a
    local path (none is known, by design).

    Example:
        >>> r = GenerationRequest("night", None, None, 7, model="4b-edit",
        ...     images=("https://x.test/cat.png",), references=(url_sha256("https://x.test/cat.png"),))
        >>> [w.word for w in reference_words(r)]
        ['https://x.test/cat.png']
    """
    return tuple(
        ReferenceWord(url, False, digest)
        if url_sha256(url) == digest
        else ReferenceWord(f"reference-{number}.png", True, digest)
        for number, (url, digest) in enumerate(
            zip(request.images, request.references, strict=True), 1
        )
    )


def weights_name(request: GenerationRequest) -> str | None:
    """``"9b"`` for a request to the 9B weights (text-to-image or edit), None for 4B's:
    ``--model`` and ``model=`` are written only when they say something."""
    weights = request.klein_model.weights
    return None if weights == DEFAULT_MODEL.weights else weights


def snippet_values(request: GenerationRequest) -> dict[str, object]:
    """What every snippet writes besides the prompt and the images, in this order: width and
    height (unless an edit keeps its first image's size), the seed, the weights (unless
    4B's), the LoRAs (if any). Each snippet writes them in its own language.

    Example:
        >>> snippet_values(GenerationRequest("a fox", 768, 512, seed=7, model="9b"))
        {'width': 768, 'height': 512, 'seed': 7, 'model': '9b'}
    """
    values: dict[str, object] = {}
    if request.width is not None:
        values.update(width=request.width, height=request.height)
    values["seed"] = request.seed
    if weights_name(request):
        values["model"] = weights_name(request)
    if request.loras:
        values["loras"] = request.loras
    return values
