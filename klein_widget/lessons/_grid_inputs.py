"""What `compare()` is given, read and checked before anything is sent: prompts (text or
`PromptBuilder`), seeds, sizes (aspect presets and pixels, by the rule every door uses) and
the family's models. `klein_widget.lessons._axes.plan_grid` lays them out.

Example:
    >>> as_sizes(["1:1", (768, 512)], None, None, None)
    ([(512, 512), (768, 512)], ['1:1', None])
    >>> [m.name for m in as_models(["4b", "9b"])]
    ['4b', '9b']
"""

from __future__ import annotations

from collections.abc import Sequence

from klein_widget.client._family import DEFAULT_MODEL, KleinModel, resolve_model
from klein_widget.client._family_inputs import LoraOption, model_for_loras
from klein_widget.lessons._prompts import PromptBuilder
from klein_widget.ui._sizes import size_for_aspect

__all__ = [
    "COMPARE_SIDE",
    "PromptLike",
    "SizeLike",
    "as_models",
    "as_prompts",
    "as_seeds",
    "as_sizes",
]

# compare()'s own choice, not the model's default (DEFAULT_SIDE, 1024): a grid shows
# thumbnails, and 512 px images cost the same but arrive sooner.
COMPARE_SIDE = 512


def as_models(
    models: Sequence[str | KleinModel] | None, loras: LoraOption = None
) -> tuple[KleinModel, ...]:
    """The models of a grid (4B when None): short names (``"9b"``) or WaveSpeed ids, each
    once; the family's text-to-image models only (an edit needs images). With ``loras``,
    4B means its LoRA endpoint (`model_for_loras`, the client's rule).

    Example:
        >>> [m.name for m in as_models(["4b", "wavespeed-ai/flux-2-klein-9b/text-to-image"])]
        ['4b', '9b']
        >>> [m.name for m in as_models(None, loras=["owner/style"])]
        ['4b-lora']
    """
    if models is not None and (isinstance(models, str) or not models):
        raise ValueError('models is a list, e.g. models=["4b", "9b"]')
    given = (DEFAULT_MODEL,) if models is None else tuple(resolve_model(m) for m in models)
    found = tuple(resolve_model(model_for_loras(m, loras)) for m in given)
    for model in found:
        if model.takes_images or (model.takes_loras and not loras):
            raise ValueError(
                f"compare makes new images from text: {model.name!r} is not a text-to-image "
                'model; give models=["4b", "9b"] (and loras= for LoRA styles)'
            )
    if len(set(found)) < len(found):
        raise ValueError(f"models lists a model twice: {[m.name for m in found]}")
    return found


PromptLike = str | PromptBuilder


def as_prompts(prompts: PromptLike | Sequence[PromptLike]) -> tuple[str, ...]:
    """The prompts as text: one or a list, `PromptBuilder` objects written out."""
    items: Sequence[PromptLike] = [prompts] if isinstance(prompts, str | PromptBuilder) else prompts
    texts = tuple(str(p) if isinstance(p, PromptBuilder) else p for p in items)
    if not texts:
        raise ValueError("prompts is empty: give one prompt or a list, e.g. ['a fox', 'a cat']")
    return texts


def as_seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    """One seed or a list, as a tuple (never empty)."""
    values = (seeds,) if isinstance(seeds, int) else tuple(seeds)
    if not values:
        raise ValueError("seeds is empty: give one seed or a list, e.g. seeds=[1, 2, 3]")
    return values


SizeLike = str | tuple[int, int]


def as_sizes(
    sizes: Sequence[SizeLike] | None, width: int | None, height: int | None, aspect: str | None
) -> tuple[list[tuple[int, int]], list[str | None]]:
    """Sizes and their names: presets and ``W:H`` by the one aspect rule, or ``(w, h)``."""
    if sizes is None:
        if aspect is not None:
            width, height = size_for_aspect(aspect, COMPARE_SIDE, width=width, height=height)
        return [(width or COMPARE_SIDE, height or COMPARE_SIDE)], [aspect]
    if aspect is not None:
        raise ValueError('give sizes= (e.g. ["1:1", "16:9"]) or aspect=, not both')
    if isinstance(sizes, str) or not sizes:
        raise ValueError('sizes is a list, e.g. sizes=["1:1", "16:9", (768, 512)]')
    found: list[tuple[int, int]] = []
    names: list[str | None] = []
    for size in sizes:
        if isinstance(size, str):
            long_side = max(width or COMPARE_SIDE, height or COMPARE_SIDE)
            found.append(size_for_aspect(size, long_side, label="sizes"))
            names.append(size.strip())
        elif isinstance(size, tuple) and len(size) == 2:
            found.append((size[0], size[1]))
            names.append(None)
        else:
            raise ValueError(f"each size is a preset like '16:9' or (width, height), not {size!r}")
    return found, names
