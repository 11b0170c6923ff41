"""A LoRA as the doors write it, ``URL[:SCALE]`` (``%klein --lora``, ``klein generate
--lora``, their snippets): read (`lora_from_text`) and written back (`lora_text`), one rule.

A last ``:`` part without a ``/`` is the scale, so URLs keep their ``https:``; the scale is
1 when left out, and from 0 to 2 (`LORA_SCALE_RANGE`).

Example:
    >>> lora_from_text("owner/watercolour:0.8"), lora_from_text("https://x.test/ink.safetensors")
    (('owner/watercolour', 0.8), ('https://x.test/ink.safetensors', 1.0))
    >>> lora_text(("owner/watercolour", 0.8)), lora_text(("https://x.test/ink.safetensors", 1.0))
    ('owner/watercolour:0.8', 'https://x.test/ink.safetensors')
"""

from __future__ import annotations

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import LORA_SCALE_RANGE

__all__ = ["LORA_EXAMPLE", "lora_from_text", "lora_text"]

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
