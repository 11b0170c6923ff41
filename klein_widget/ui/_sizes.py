"""Sizes for every door: the aspect presets, the one rule that turns an aspect into a size,
and checking a width, height or seed by the model's rules before there is a prompt.

The panel's preset buttons, ``%klein --aspect``, ``klein generate --aspect`` and
``compare(aspect=...)`` all call `size_for_aspect`, so one aspect and one seed make one
image whichever door asked.

The rule: the longer side is ``long_side`` rounded to the model's step of 16 (`SIDE_STEP`)
and kept within 256-1536; the other side is whichever of the two multiples of 16 around
its exact value keeps the ratio closest to the aspect (measured as a log ratio, so W:H and
H:W round alike: a preset and its swap are mirror sizes). If that side would fall under
256, it becomes 256 and the longer side follows by the same rule. Nearest rounding beats
rounding down: 3:2 at 1024 is 1024x688 (ratio 1.488) rather than 1024x672 (1.524).

Example:
    >>> [size_for_aspect(name) for name in ("1:1", "3:2", "9:16")]
    [(1024, 1024), (1024, 688), (576, 1024)]
    >>> size_for_aspect("16:9", width=768)
    (768, 432)
"""

from __future__ import annotations

import math
import re

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import (
    DEFAULT_SIDE,
    MAX_SIDE,
    MIN_SIDE,
    SIDE_STEP,
    GenerationRequest,
)

__all__ = [
    "ASPECT_PRESETS",
    "check_settings",
    "parse_aspect",
    "size_for_aspect",
    "snap_side",
]

ASPECT_PRESETS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "16:9": (16, 9),
    "9:16": (9, 16),
}
"""The aspects the panel offers as buttons, by name; any ``W:H`` works everywhere else."""

# Checking a setting needs a request, and a request needs a prompt: this one stands in.
_ANY_PROMPT = "-"
_ASPECT = re.compile(r"\s*(\d{1,4})\s*:\s*(\d{1,4})\s*")


def check_settings(**fields: object) -> GenerationRequest:
    """Check ``width``, ``height`` and/or ``seed`` by `GenerationRequest`'s own rules.

    For a value set before there is a prompt (a panel field, a ``%config`` default).
    Raises `InvalidRequestError` in the model's words.

    Example:
        >>> check_settings(width=768, seed=42).width
        768
        >>> check_settings(width=100)
        Traceback (most recent call last):
        ...
        klein_widget.client._exceptions.InvalidRequestError: width must be from 256 to 1536 \
pixels (multiples of 16 work best), not 100
    """
    return GenerationRequest(_ANY_PROMPT, **fields)  # type: ignore[arg-type]


def snap_side(value: float) -> int:
    """Round to the nearest multiple of 16 (halves up) and clamp to 256-1536.

    Example:
        >>> snap_side(1000), snap_side(100), snap_side(4000)
        (1008, 256, 1536)
    """
    stepped = math.floor(value / SIDE_STEP + 0.5) * SIDE_STEP  # half up, not to even
    return max(MIN_SIDE, min(MAX_SIDE, stepped))


def parse_aspect(aspect: str | tuple[int, int], *, label: str = "aspect") -> tuple[int, int]:
    """``"16:9"`` (or ``(16, 9)``) as two whole numbers from 1 to 9999; ``label`` names it
    in errors.

    Example:
        >>> parse_aspect(" 3 : 2 ")
        (3, 2)
    """
    parts: list[int] = []
    if isinstance(aspect, tuple):
        parts = [p for p in aspect if isinstance(p, int) and not isinstance(p, bool)]
    elif isinstance(aspect, str) and (match := _ASPECT.fullmatch(aspect)):
        parts = [int(match.group(1)), int(match.group(2))]
    if len(parts) != 2 or not all(0 < p <= 9999 for p in parts):
        raise InvalidRequestError(
            f"{label} must be two whole numbers like 16:9, 3:2 or 1:1, not {aspect!r}",
            field="aspect",
        )
    return (parts[0], parts[1])


def _other_side(fixed: float, ratio: float) -> int:
    """The multiple of 16 nearest ``fixed * ratio`` in log-ratio terms (at least 16)."""
    exact = fixed * ratio
    low = max(SIDE_STEP, math.floor(exact / SIDE_STEP) * SIDE_STEP)
    high = low + SIDE_STEP
    # Equal errors (rare) go to the larger side: more pixels for the same price.
    return low if abs(math.log(low / exact)) < abs(math.log(high / exact)) else high


def size_for_aspect(
    aspect: str | tuple[int, int],
    long_side: int = DEFAULT_SIDE,
    *,
    width: int | None = None,
    height: int | None = None,
    label: str = "aspect",
) -> tuple[int, int]:
    """The ``(width, height)`` for ``aspect`` (``"16:9"`` or ``(16, 9)``).

    With neither ``width`` nor ``height``, the longer side is ``long_side``, snapped into
    256-1536 (see the module docstring for the rounding rule). With one of them, that
    side is kept exactly as given and the other follows from the ratio by the same
    rounding. The result is checked by
    `GenerationRequest`: an aspect that cannot fit 256-1536 (more elongated than 6:1, or a
    given side too long for it) raises `InvalidRequestError` naming the size it would need.
    ``label`` is how the caller's user wrote the option (``"--aspect"`` in the magic).

    Example:
        >>> size_for_aspect("16:9", 256), size_for_aspect((2, 3), height=1536)
        ((448, 256), (1024, 1536))
    """
    a, b = parse_aspect(aspect, label=label)
    if width is not None and height is not None:
        raise InvalidRequestError(
            f"{label} with both a width and a height: give one side or neither", field="aspect"
        )
    if width is not None:
        check_settings(width=width)
        size = (width, _other_side(width, b / a))
    elif height is not None:
        check_settings(height=height)
        size = (_other_side(height, a / b), height)
    else:
        big, little = max(a, b), min(a, b)
        long_px = snap_side(long_side)
        short_px = _other_side(long_px, little / big)
        if short_px < MIN_SIDE:
            short_px, long_px = MIN_SIDE, _other_side(MIN_SIDE, big / little)
        size = (long_px, short_px) if a >= b else (short_px, long_px)
    try:
        check_settings(width=size[0], height=size[1])
    except InvalidRequestError as error:
        text = f"{a}:{b}" if isinstance(aspect, tuple) else aspect.strip()
        raise InvalidRequestError(
            f"{label} {text} gives {size[0]}x{size[1]}: {error.message}", field="aspect"
        ) from None
    return size
