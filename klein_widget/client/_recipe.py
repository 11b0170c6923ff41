"""`Recipe`: everything that decides a picture, and `recipe_key`, the one key computed from it.

Two requests with the same recipe make the same picture, so the gallery, lesson packs, the
journal, a gateway's shared store and a batch's grouping all find "the same image" by
`recipe_key` and by nothing else. Inputs that arrive later (reference images by content
hash, LoRAs by name and weight) are fields here already: a recipe without them has the key
it will keep.

Example:
    >>> r = Recipe("wavespeed-ai/flux-2-klein-4b/text-to-image", "a red fox", 768, 512, 42)
    >>> len(r.key), r.key == recipe_key(r)
    (64, True)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

__all__ = ["Recipe", "recipe_key"]


@dataclass(frozen=True)
class Recipe:
    """The model, prompt, size and concrete seed of a picture (and, later, its reference
    images' sha256 hex digests and its LoRAs as ``(name, weight)``).

    Example:
        >>> Recipe("m", "a fox", 512, 512, 7).references
        ()
    """

    model: str
    prompt: str
    width: int | None  # None: an edit that keeps its first image's size
    height: int | None
    seed: int
    references: tuple[str, ...] = ()
    loras: tuple[tuple[str, float], ...] = ()

    @property
    def key(self) -> str:
        """This recipe's key (`recipe_key`)."""
        return recipe_key(self)


def recipe_key(recipe: Recipe) -> str:
    """The one key of a recipe: the sha256 hex of its fields in a fixed JSON form.

    Example:
        >>> recipe_key(Recipe("m", "a fox", 512, 512, 7)) == recipe_key(
        ...     Recipe("m", "a fox", 512, 512, 8))
        False
    """
    fields = [
        recipe.model,
        recipe.prompt,
        recipe.width,
        recipe.height,
        recipe.seed,
        list(recipe.references),
        [[name, float(weight)] for name, weight in recipe.loras],
    ]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
