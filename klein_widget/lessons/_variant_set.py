"""What a template expands to (`expand_variants` makes them): its `Axis` parts that vary,
each `Variant` prompt with its chosen words, and `Variants`, all of them with their cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.ui._labels import Segment
from klein_widget.ui._text import price_text

__all__ = ["Axis", "Variant", "Variants"]


@dataclass(frozen=True)
class Axis:
    """One part of a template that varies: how it was written and what it becomes."""

    source: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One expanded prompt: its text, the value chosen for each axis, and the text in
    `Segment` pieces with the chosen words emphasised (for labels).

    Example:
        >>> v = expand_variants("a {red|blue} fox")[1]
        >>> v.prompt, v.choices, [s.text for s in v.segments if s.emphasised]
        ('a blue fox', ('blue',), ['blue'])
    """

    prompt: str
    choices: tuple[str, ...]
    segments: tuple[Segment, ...]

    @property
    def label(self) -> str:
        """The chosen words, ``" · "`` between axes (the prompt if nothing varied)."""
        return " · ".join(c or "(nothing)" for c in self.choices) if self.choices else self.prompt


@dataclass(frozen=True)
class Variants(Sequence[Variant]):
    """What a template expands to: its axes and every combination, the first axis slowest.

    Example:
        >>> v = expand_variants("a {red|blue} fox, __animal__", wildcards=None)
        ... # doctest: +SKIP
        >>> expand_variants("a {red|blue} fox").cost_text(seeds=3)
        '2 prompts x 3 seeds = 6 images, at most $0.048 (images already in the gallery are free)'
    """

    template: str
    axes: tuple[Axis, ...]
    variants: tuple[Variant, ...]

    @overload
    def __getitem__(self, index: int) -> Variant: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Variant]: ...
    def __getitem__(self, index: int | slice) -> Variant | Sequence[Variant]:
        return self.variants[index]

    def __len__(self) -> int:
        return len(self.variants)

    @property
    def prompts(self) -> tuple[str, ...]:
        """The expanded prompts, in order."""
        return tuple(v.prompt for v in self.variants)

    def cost_text(
        self,
        seeds: int = 1,
        sizes: int = 1,
        base_url: str | None = None,
        *,
        models: Sequence[KleinModel] = (DEFAULT_MODEL,),
    ) -> str:
        """What making every prompt on each of ``models`` with ``seeds`` seeds and ``sizes``
        sizes costs at most, each model at the price a budget reserves for it (``base_url``
        a local emulator: the price says "simulated")."""
        parts = [(len(self), "prompt"), (len(models), "model"), (seeds, "seed"), (sizes, "size")]
        shown = [f"{n} {noun}{'s' * (n != 1)}" for n, noun in parts if n > 1 or noun == "prompt"]
        each = len(self) * seeds * sizes
        images = each * len(models)
        dollars = each * sum(model.reserve_mills for model in models) / 1000
        return (
            f"{' x '.join(shown)} = {images} image{'s' * (images != 1)}, at most "
            f"{price_text(dollars, base_url)} "
            "(images already in the gallery are free)"
        )
