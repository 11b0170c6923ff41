"""What a family model takes besides a prompt, checked once: the model's name, an edit's
reference images (URLs and content hashes) and the LoRA endpoint's adapters.

`GenerationRequest` calls these on construction, so no request exists that a model would
refuse; each error says what to do instead. Kept apart from `_models` so each module
reads in one sitting.

Example:
    >>> check_loras(resolve_model("4b-lora"), ["owner/style", ("https://x/y.safetensors", 0.5)])
    (('owner/style', 1.0), ('https://x/y.safetensors', 0.5))
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import (
    DEFAULT_MODEL,
    LORA_SCALE_RANGE,
    MAX_LORAS,
    MAX_REFERENCES,
    MODELS,
    KleinModel,
    find_model,
    resolve_model,
)

if TYPE_CHECKING:
    from klein_widget.client._models import GenerationRequest

__all__ = [
    "LoraOption",
    "check_family",
    "check_loras",
    "family_from_params",
    "family_params",
    "lora_json",
    "loras_from_json",
    "model_for_loras",
    "url_sha256",
]

# What a caller may pass as ``loras=``: "path_or_url" or ("path_or_url", scale), or None.
LoraOption = Sequence[str | tuple[str, float]] | None

_SHA256_HEX = frozenset("0123456789abcdef")


def url_sha256(url: str) -> str:
    """The content hash a reference given as a URL is known by: sha256 of the URL text
    (its bytes stay on another server).

    Example:
        >>> len(url_sha256("https://example.com/cat.png"))
        64
    """
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def model_for_loras(model: str | KleinModel, loras: LoraOption) -> str:
    """``model``, or the 4B LoRA endpoint when LoRAs come with ``"4b"`` (the default):
    the one place that switch is made.

    Example:
        >>> model_for_loras("4b", ["owner/style"]), model_for_loras("4b", None)
        ('4b-lora', '4b')
    """
    name = model.name if isinstance(model, KleinModel) else model
    return "4b-lora" if loras and find_model(name) is find_model("4b") else name


def _lora_models() -> str:
    return " or ".join(f"model={m.name!r}" for m in MODELS if m.takes_loras)


def check_loras(model: KleinModel, loras: object) -> tuple[tuple[str, float], ...]:
    """``loras`` as ``((path, scale), ...)``: each a ``"path_or_url"`` (scale 1.0) or a
    ``(path_or_url, scale)`` pair, scale from 0 to 2, at most `MAX_LORAS`; a model
    without a LoRA endpoint takes none.

    Example:
        >>> check_loras(resolve_model("4b-lora"), [("owner/style", 2)])
        (('owner/style', 2.0),)
    """
    if loras is None or (isinstance(loras, Sequence | tuple) and len(loras) == 0):
        return ()
    if isinstance(loras, str) or not isinstance(loras, Iterable):
        raise InvalidRequestError(
            f"loras must be a list of 'path_or_url' or ('path_or_url', scale), e.g. "
            f"loras=[('owner/style', 0.8)], not {type(loras).__name__} {loras!r}",
            field="loras",
        )
    items = list(loras)
    if not model.takes_loras:
        raise InvalidRequestError(
            f"model {model.name!r} takes no LoRAs: use {_lora_models()} (or leave model at "
            "'4b', which switches to it when loras are given)",
            field="loras",
        )
    if len(items) > MAX_LORAS:
        raise InvalidRequestError(
            f"loras takes at most {MAX_LORAS} adapters, not {len(items)}: drop some",
            field="loras",
        )
    return tuple(_one_lora(i, item) for i, item in enumerate(items))


def _one_lora(i: int, item: object) -> tuple[str, float]:
    path, scale = (item, 1.0) if isinstance(item, str) else _pair(i, item)
    if not isinstance(path, str) or not path.strip():
        raise InvalidRequestError(
            f"loras[{i}] needs a path: a LoRA's URL or 'owner/repo', not {path!r}",
            field="loras",
        )
    low, high = LORA_SCALE_RANGE
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not low <= scale <= high:
        raise InvalidRequestError(
            f"loras[{i}] scale must be a number from {low:g} to {high:g} (1 is the "
            f"adapter's full strength), not {scale!r}",
            field="loras",
        )
    return (path.strip(), float(scale))


def _pair(i: int, item: object) -> tuple[object, object]:
    if isinstance(item, Sequence) and len(item) == 2:
        return item[0], item[1]
    raise InvalidRequestError(
        f"loras[{i}] must be 'path_or_url' or ('path_or_url', scale), not {item!r}",
        field="loras",
    )


def _check_hashes(references: object, count: int) -> tuple[str, ...]:
    refs = tuple(references) if isinstance(references, Iterable) else (references,)
    if len(refs) != count or not all(
        isinstance(r, str) and len(r) == 64 and set(r) <= _SHA256_HEX for r in refs
    ):
        raise InvalidRequestError(
            "references must be one sha256 hex digest per image, in the same order "
            "(edit() computes them: pass the images there)",
            field="images",
        )
    return tuple(str(r) for r in refs)


def _check_urls(images: object) -> tuple[str, ...]:
    urls = tuple(images) if isinstance(images, Iterable) and not isinstance(images, str) else ()
    if isinstance(images, str) or not all(
        isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
    ):
        raise InvalidRequestError(
            "images must be a list of http(s) URLs (edit() uploads local images and "
            f"passes their URLs), not {images!r}",
            field="images",
        )
    return tuple(str(u) for u in urls)


def check_family(
    model: object, images: object, references: object, loras: object
) -> tuple[KleinModel, tuple[str, ...], tuple[str, ...], tuple[tuple[str, float], ...]]:
    """A request's model, image URLs, reference hashes and LoRAs, checked together.

    An edit model takes 1 to `MAX_REFERENCES` references (``images`` empty until they
    are uploaded, else one URL per reference; a URL with no hash given is known by
    `url_sha256`); any other model takes none.

    Example:
        >>> check_family("9b", (), (), ())[0].id
        'wavespeed-ai/flux-2-klein-9b/text-to-image'
    """
    if not isinstance(model, str | KleinModel):
        raise InvalidRequestError(
            f"model must be a name such as '4b' or '9b', not {type(model).__name__}",
            field="model",
        )
    klein = resolve_model(model)
    urls = _check_urls(images)
    given = tuple(references) if isinstance(references, Iterable) else references
    if urls and given == ():
        given = tuple(url_sha256(u) for u in urls)
    hashes = _check_hashes(given, len(given) if isinstance(given, tuple) else -1)
    if not klein.takes_images and hashes:
        edits = " or ".join(repr(m.name) for m in MODELS if m.takes_images)
        raise InvalidRequestError(
            f"model {klein.name!r} takes no reference images: use edit(), or model={edits}",
            field="images",
        )
    if klein.takes_images and not 1 <= len(hashes) <= MAX_REFERENCES:
        raise InvalidRequestError(
            f"an edit takes 1 to {MAX_REFERENCES} reference images, not {len(hashes)}"
            + (": make a collage, or edit in steps" if hashes else ""),
            field="images",
        )
    if urls and len(urls) != len(hashes):
        raise InvalidRequestError(
            f"images has {len(urls)} URLs for {len(hashes)} references: one each",
            field="images",
        )
    return klein, urls, hashes, check_loras(klein, loras)


def lora_json(loras: Sequence[tuple[str, float]]) -> list[dict[str, Any]]:
    """The ``loras`` field as WaveSpeed takes it.

    Example:
        >>> lora_json([("owner/style", 0.5)])
        [{'path': 'owner/style', 'scale': 0.5}]
    """
    return [{"path": path, "scale": scale} for path, scale in loras]


def family_params(request: GenerationRequest) -> dict[str, Any]:
    """A request's family fields as JSON-ready parameters (the gallery's row, an image
    file's embedded parameters): ``model_name`` (the short name: ``model`` is the
    WaveSpeed id that made it), ``images``, ``references``,
    ``loras`` as ``[[path, scale], ...]``, and ``sized`` (False: an edit that kept its
    first image's size).

    Example:
        >>> from klein_widget.client._models import GenerationRequest
        >>> family_params(GenerationRequest("a fox"))["model_name"]
        '4b'
    """
    return {
        "model_name": request.model,
        "images": list(request.images),
        "references": list(request.references),
        "loras": [[path, scale] for path, scale in request.loras],
        "sized": request.width is not None,
    }


def family_from_params(params: object, model: str = "") -> dict[str, Any]:
    """`GenerationRequest` keyword arguments from `family_params` (or from ``model``, a
    WaveSpeed id, for what was stored before them: 4B text-to-image unless it says).

    Example:
        >>> family_from_params(None)
        {'model': '4b', 'images': (), 'references': (), 'loras': ()}
    """
    found = params if isinstance(params, dict) else {}
    name = found.get("model_name")
    if not isinstance(name, str) or find_model(name) is None:
        known = find_model(model) if model else None
        name = known.name if known is not None else DEFAULT_MODEL.name
    return {
        "model": name,
        "images": tuple(found.get("images") or ()),
        "references": tuple(found.get("references") or ()),
        "loras": tuple(tuple(item) for item in found.get("loras") or ()),
    }


def loras_from_json(value: object) -> object:
    """``[{"path", "scale"}]`` as ``((path, scale), ...)`` (checked by the request)."""
    if not isinstance(value, list):
        return value
    return tuple(
        (item.get("path"), item.get("scale", 1.0)) if isinstance(item, dict) else item
        for item in value
    )
