"""The axes of a `compare()` grid: prompt variants, models, seeds and sizes, and where each
goes.

`plan_grid` turns what `compare` was given into every request (the product of the axes,
the first axis slowest) and a layout: the first axis that varies gives the rows, the
second the columns, the third one table per value (sections). Each variant group of a
single template (``"a {red|blue} fox in {snow|rain}"``) is an axis of its own; a list of
prompts is one axis; the models of the family (``models=["4b", "9b"]``) are one, so the
same prompt and seed sit side by side on each. More than three varying axes fold the
variant groups into one.

Example:
    >>> plan = plan_grid([expand_variants("a {red|blue} fox")], [1, 2], [(512, 512)], [None])
    >>> [a.name for a in plan.axes], plan.rows, plan.columns, len(plan.requests)
    (['prompt', 'model', 'seed', 'size'], 0, 2, 4)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._models import RANDOM_SEED, GenerationRequest
from klein_widget.lessons._variants import Variants
from klein_widget.ui._grid import Cell, GridSection
from klein_widget.ui._labels import Label, Segment, highlight_differences

__all__ = ["GridAxis", "GridPlan", "model_label", "plan_grid", "size_label"]


@dataclass(frozen=True)
class GridAxis:
    """One axis: its name (``"model"``, ``"seed"``, ``"size"``, ``"prompt"`` or a variant
    group such as ``"{red|blue}"``) and the label of each of its values."""

    name: str
    labels: tuple[Label, ...]
    short: tuple[Label, ...] = ()  # for column heads, where room is short (else ``labels``)

    @property
    def prompt_part(self) -> bool:
        """True for an axis that changes the prompt."""
        return self.name not in ("model", "seed", "size")


@dataclass(frozen=True)
class GridPlan:
    """Every request of a grid, in product order, and which axis goes where."""

    prompts: tuple[str, ...]
    models: tuple[KleinModel, ...]
    seeds: tuple[int, ...]
    sizes: tuple[tuple[int, int], ...]
    axes: tuple[GridAxis, ...]
    rows: int | None
    columns: int | None
    sections: int | None
    requests: tuple[GenerationRequest, ...]
    fixed_label: Label  # the row label when no axis gives the rows

    def position(self, index: int) -> tuple[int, ...]:
        """The value index on each axis of the ``index``-th request."""
        place: list[int] = []
        for axis in reversed(self.axes):
            index, value = divmod(index, len(axis.labels))
            place.append(value)
        return tuple(reversed(place))

    def layout(self, items: Sequence[Cell]) -> list[GridSection]:
        """``items`` (one per request, in order) arranged into labelled sections."""
        where = (self.sections, self.rows, self.columns)
        blocks, height, width = (len(self.axes[a].labels) if a is not None else 1 for a in where)
        grids: list[list[list[Cell]]] = [
            [[None] * width for _ in range(height)] for _ in range(blocks)
        ]
        for index, item in enumerate(items):
            place = self.position(index)
            s, r, c = (place[a] if a is not None else 0 for a in where)
            grids[s][r][c] = item
        return [
            GridSection(
                grid,
                row_labels=self._labels(self.rows, [self.fixed_label]),
                column_labels=self._labels(self.columns, [self.axes[-2].labels[0]], short=True),
                heading=self.axes[self.sections].labels[s] if self.sections is not None else None,
            )
            for s, grid in enumerate(grids)
        ]

    def _labels(self, axis: int | None, fixed: list[Label], short: bool = False) -> list[Label]:
        if axis is None:
            return fixed
        found = self.axes[axis]
        return list(found.short if short and found.short else found.labels)


def size_label(size: tuple[int, int], name: str | None = None) -> str:
    """``"16:9 · 512×288"``, or ``"768×512"`` for a size given as pixels."""
    pixels = f"{size[0]}×{size[1]}"
    return f"{name} · {pixels}" if name else pixels


def model_label(model: KleinModel) -> str:
    """``"FLUX.2 [klein] 9B"``; the LoRA endpoint ``"FLUX.2 [klein] 4B + LoRA"``."""
    return f"FLUX.2 [klein] {model.weights.upper()}" + (" + LoRA" if model.takes_loras else "")


def _seed_label(seed: int) -> str:
    return "random seed" if seed == RANDOM_SEED else f"seed {seed}"


def _group_labels(variants: Variants, axis: int) -> tuple[Label, ...]:
    """For variant group ``axis``: the template with this group's value emphasised and
    the other groups written as they were (``a [red] fox in {snow|rain}``); for a template
    of two or more groups (one group's label is the whole prompt, as written)."""
    sample = variants[0].segments
    labels: list[Label] = []
    for value in variants.axes[axis].values:
        seen, pieces = 0, []
        for segment in sample:
            if not segment.emphasised:
                pieces.append(segment)
                continue
            if seen == axis:
                pieces.append(Segment(value, True))
            else:
                pieces.append(Segment(variants.axes[seen].source))
            seen += 1
        labels.append(pieces)
    return tuple(labels)


def plan_grid(
    expansions: Sequence[Variants],
    seeds: Sequence[int],
    sizes: Sequence[tuple[int, int]],
    size_names: Sequence[str | None],
    *,
    models: Sequence[KleinModel] = (DEFAULT_MODEL,),
    loras: tuple[tuple[str, float], ...] = (),
    sync: bool = False,
) -> GridPlan:
    """The grid for ``expansions`` (what the templates expand to: one, or several forming
    one axis), ``models``, ``seeds`` and ``sizes`` (``size_names`` label presets), every
    cell with ``loras`` (and WaveSpeed's sync mode if ``sync``)."""
    texts = tuple(p for v in expansions for p in v.prompts)
    model_axis = GridAxis(
        "model",
        tuple(model_label(m) for m in models),
        tuple(model_label(m).removeprefix("FLUX.2 [klein] ") for m in models),
    )
    seed_axis = GridAxis("seed", tuple(_seed_label(s) for s in seeds))
    size_axis = GridAxis(
        "size", tuple(size_label(s, n) for s, n in zip(sizes, size_names, strict=True))
    )
    groups = expansions[0].axes if len(expansions) == 1 else ()
    wide = sum(len(g.values) > 1 for g in groups)
    varying = wide + (len(models) > 1) + (len(seeds) > 1) + (len(sizes) > 1)
    if len(expansions) == 1 and len(groups) > 1 and varying <= 3:
        prompt_axes = [
            GridAxis(
                g.source,
                _group_labels(expansions[0], i),
                tuple([Segment(value, True)] for value in g.values),
            )
            for i, g in enumerate(groups)
        ]
    elif len(expansions) == 1 and groups:
        prompt_axes = [GridAxis("prompt", tuple(list(v.segments) for v in expansions[0]))]
    else:
        prompt_axes = [GridAxis("prompt", tuple(highlight_differences(texts)))]
    axes = (*prompt_axes, model_axis, seed_axis, size_axis)
    wide_axes = [i for i, a in enumerate(axes) if len(a.labels) > 1]
    rows = columns = sections = None
    if len(wide_axes) == 1:
        if axes[wide_axes[0]].prompt_part:
            rows = wide_axes[0]
        else:
            columns = wide_axes[0]
    elif wide_axes:
        rows, columns = wide_axes[0], wide_axes[1]
        sections = wide_axes[2] if len(wide_axes) > 2 else None
    assert math.prod(len(a.labels) for a in prompt_axes) == len(texts)
    requests = tuple(
        GenerationRequest(text, width, height, seed, sync, model=model.name, loras=loras)
        for text in texts
        for model in models
        for seed in seeds
        for width, height in sizes
    )
    return GridPlan(
        texts,
        tuple(models),
        tuple(seeds),
        tuple(sizes),
        axes,
        rows,
        columns,
        sections,
        requests,
        texts[0] if len(texts) == 1 else "prompt",
    )
