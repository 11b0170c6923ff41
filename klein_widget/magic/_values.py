"""A ``%klein`` option's text (``{name}`` fields filled in) into its value, or a
`MagicUsageError` that says what is allowed. Pure but for one check: a ``--ref`` or
``--edit`` file must exist, so a typo is said before anything is uploaded or paid for.

Sizes and seeds that are not whole numbers come back as text for `GenerationRequest` to
refuse in its own words: the rules of a request live there, once.

Example:
    >>> seed_value("random"), count_value("4")
    (-1, 4)
    >>> model_value("9b").name
    '9b'
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import (
    MAX_LORAS,
    MAX_REFERENCES,
    KleinModel,
    find_model,
    resolve_model,
)
from klein_widget.client._models import MAX_SIDE, MIN_SIDE, RANDOM_SEED, parse_size
from klein_widget.ui._family_text import lora_from_text
from klein_widget.ui._magic_options import MAX_COUNT, MagicOption, MagicUsageError
from klein_widget.ui._sizes import size_for_aspect

__all__ = [
    "LAST",
    "count_value",
    "given",
    "image_values",
    "integer",
    "is_url",
    "lora_values",
    "model_value",
    "seed_value",
    "size_value",
]

LAST = "last"  # --edit last: the last image this session made
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


def given(option: MagicOption, options: argparse.Namespace) -> bool:
    """True if the line gave ``option`` (a switch: turned on, or off if negatable)."""
    value = getattr(options, option.name)
    return bool(value) if option.switch and not option.negatable else value is not None


def integer(text: str) -> int | str:
    """An int if ``text`` is one; otherwise the text, for `GenerationRequest` to refuse."""
    try:
        return int(text)
    except ValueError:
        return text


def seed_value(text: str) -> int | str:
    """One seed of ``-s``: ``random`` is -1; not a whole number, the text (to be refused)."""
    return RANDOM_SEED if text.strip().lower() == "random" else integer(text)


def count_value(text: str | None) -> int:
    """The image count for ``-n`` (1 if not given), from 1 to `MAX_COUNT`."""
    count = 1 if text is None else integer(text)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise MagicUsageError(
            f"-n/--count must be a whole number from 1 to {MAX_COUNT}, not {text!r}"
        )
    return count


def size_value(text: Mapping[str, str], default: tuple[int, int]) -> tuple[Any, Any]:
    """Width and height from -W, -H, --size and --aspect (their text, filled in);
    ``default`` for what they leave out. A side that is not a whole number comes back
    as its text, for `GenerationRequest` to refuse in its own words."""
    width_text, height_text = text.get("width"), text.get("height")
    size_text, aspect_text = text.get("size"), text.get("aspect")
    if size_text is not None:
        if width_text is not None or height_text is not None:
            raise MagicUsageError(
                "--size sets both sides: use either --size 768x512 or -W 768 -H 512, not both"
            )
        if aspect_text is not None:
            raise MagicUsageError(
                "--size and --aspect both set the shape: use one (e.g. --aspect 16:9)"
            )
        try:
            return parse_size(size_text)
        except InvalidRequestError as error:
            raise MagicUsageError(
                f"--size must look like 768x512 (width x height, each {MIN_SIDE} to {MAX_SIDE}), "
                f"not {size_text!r}"
            ) from error
    width: Any = default[0] if width_text is None else integer(width_text)
    height: Any = default[1] if height_text is None else integer(height_text)
    if aspect_text is None:
        return width, height
    if width_text is not None and height_text is not None:
        raise MagicUsageError(
            "--aspect with both -W and -H: give one side (e.g. -W 768 --aspect 16:9) or neither"
        )
    try:
        return size_for_aspect(
            aspect_text,
            max(default),
            width=width if width_text is not None else None,
            height=height if height_text is not None else None,
            label="--aspect",
        )
    except InvalidRequestError as error:
        raise MagicUsageError(str(error)) from None


# --- the family: --model, --lora, --edit and --ref -----------------------------------------


def model_value(text: str | None, *, edit: bool = False, loras: bool = False) -> KleinModel:
    """The model ``--model`` names (4B when left out), checked against what the line asks
    of it: an edit takes that size's edit model, LoRAs its LoRA endpoint (4B only).

    Example:
        >>> model_value("9b", edit=True).name, model_value(None, loras=True).name
        ('9b-edit', '4b-lora')
    """
    try:
        model = resolve_model(text or "4b")
        if edit:
            return resolve_model(model, edit=True)
    except InvalidRequestError as error:
        raise MagicUsageError(f"--model: {error}") from None
    if model.takes_images:
        raise MagicUsageError(
            f"--model {text} is an edit model: give the image to edit (--edit last, --edit "
            f"FILE or --ref FILE), or --model {model.weights} to make a new image"
        )
    if loras and not model.takes_loras:
        styled = find_model(f"{model.weights}-lora")
        if styled is None:
            raise MagicUsageError(
                f"--lora works with the 4B model only (WaveSpeed has a LoRA endpoint for "
                f"FLUX.2 [klein] 4B, none for {model.weights.upper()}): leave out --model "
                f"{text} or --lora"
            )
        return styled  # the same weights' LoRA endpoint
    return model


def lora_values(texts: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """Every ``--lora``, at most `MAX_LORAS`: ``URL[:SCALE]`` as ``(path, scale)``, by the
    rule every door reads it (`klein_widget.ui._family_text.lora_from_text`).

    Example:
        >>> lora_values(["owner/watercolour:0.8", "https://x.test/style.safetensors"])
        (('owner/watercolour', 0.8), ('https://x.test/style.safetensors', 1.0))
    """
    if len(texts) > MAX_LORAS:
        raise MagicUsageError(
            f"{len(texts)} --lora options: FLUX.2 [klein] takes at most {MAX_LORAS} LoRAs at once"
        )
    try:
        return tuple(lora_from_text(text) for text in texts)
    except InvalidRequestError as error:
        raise MagicUsageError(str(error)) from None


def is_url(text: str) -> bool:
    """True for an http(s) URL (an image the client passes on as it is)."""
    return text.lower().startswith(("http://", "https://"))


def _check_image(text: str, flag: str) -> str:
    """One image of an edit, as given: a URL, an existing file, ``last`` or (``--edit``
    only) a gallery task id; a missing file is refused now."""
    word = text.strip()
    if not word:
        raise MagicUsageError(f"{flag} needs an image: a file, an http(s) URL, or last")
    if word.lower() == LAST:
        return LAST
    path = Path(word).expanduser()
    if is_url(word) or path.is_file():
        return word
    looks_like_a_file = any(sep in word for sep in "/\\") or path.suffix.lower() in _IMAGE_SUFFIXES
    if flag == "--ref" or looks_like_a_file:
        where = f"{path.resolve()}" if not path.is_absolute() else word
        raise MagicUsageError(
            f"{flag} {word}: there is no such file ({where}); give an image file, an http(s) "
            "URL" + (", last, or a gallery task id" if flag == "--edit" else "")
        )
    return word  # a gallery task id, looked up when the line runs


def image_values(edit: str | None, refs: Sequence[str]) -> tuple[str, ...]:
    """The images of an edit, in order (``--edit``'s first), at most `MAX_REFERENCES`."""
    images = ([_check_image(edit, "--edit")] if edit is not None else []) + [
        _check_image(ref, "--ref") for ref in refs
    ]
    if len(images) > MAX_REFERENCES:
        raise MagicUsageError(
            f"{len(images)} images (--edit and --ref together): an edit takes at most "
            f"{MAX_REFERENCES} reference images"
        )
    return tuple(images)
