"""`compare()`: an X/Y/Z grid of prompt variants, models, seeds and sizes, made concurrently.

Fixing the seed while changing the prompt shows what the words do; fixing the prompt
while changing the seed shows what chance does; sizes show what the frame does; the
same prompt and seed on 4B and 9B show what the model does. A
template's variant groups (``"a {red|blue} fox"``, see `klein_widget.lessons._variants`)
are axes of their own; `klein_widget.lessons._axes` says which axis goes where. Labels
emphasise the words that vary. ``CompareResult.save("grid.png")`` writes it for slides.

The result is a `klein_widget.lessons._compare_result.CompareResult`. The work runs in a
small thread pool on the session's shared blocking client (no event loop tricks, so it
also works in scripts). In a notebook the grid appears at once and
fills in as images arrive; a failed cell shows its error and the others still render.
What `compare` is given (prompts or `PromptBuilder`, seeds, sizes by the rule every door
uses, the family's models) is read and checked first, by the ``as_*`` functions below.

Example:
    >>> as_sizes(["1:1", (768, 512)], None, None, None)
    ([(512, 512), (768, 512)], ['1:1', None])
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from klein_widget.client import _config
from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._family import DEFAULT_MODEL, KleinModel, resolve_model
from klein_widget.client._family_inputs import LoraOption, check_loras, model_for_loras
from klein_widget.client._generation import Generation
from klein_widget.client._run import Progress
from klein_widget.client._sync_client import KleinClient
from klein_widget.client.batch._result import BatchItem
from klein_widget.lessons._axes import plan_grid
from klein_widget.lessons._compare_result import CompareResult, LiveGrid, render
from klein_widget.lessons._prompts import PromptBuilder
from klein_widget.lessons._variants import VARIANTS_CONFIRM_OVER, Variants, expand_variants
from klein_widget.ui._grid import GridHTML
from klein_widget.ui._sizes import size_for_aspect

__all__ = ["COMPARE_SIDE", "DEFAULT_SEEDS", "CompareResult", "compare"]

DEFAULT_SEEDS = (1, 2, 3)
# compare()'s own choice, not the model's default (DEFAULT_SIDE, 1024): a grid shows
# thumbnails, and 512 px images cost the same but arrive sooner.
COMPARE_SIDE = 512

PromptLike = str | PromptBuilder
SizeLike = str | tuple[int, int]


def compare(
    prompts: PromptLike | Sequence[PromptLike],
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    *,
    sizes: Sequence[SizeLike] | None = None,
    width: int | None = None,
    height: int | None = None,
    aspect: str | None = None,
    models: Sequence[str] | None = None,
    loras: LoraOption = None,
    wildcards: str | os.PathLike[str] | None = None,
    client: KleinClient | None = None,
    display: bool = True,
    workers: int = MAX_IN_FLIGHT,
    thumbnail: int | None = None,
    confirm: bool | None = None,
    confirm_over: float | None = VARIANTS_CONFIRM_OVER,
    fresh: bool = False,
    sync: bool = False,
    tiles: bool = False,
    on_item: Callable[[BatchItem], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> CompareResult:
    """Make every combination of prompt variants, models, seeds and sizes, as a grid.

    ``prompts`` is one template or a list of prompts (strings or `PromptBuilder`);
    ``{red|blue}``, ``{2::a|b}``, ``{2$$a|b|c}`` and ``__wildcard__`` expand (see
    `klein_widget.lessons._variants`; ``wildcards`` names the folder). Each variant group
    of one template is an axis; a list is one axis. ``seeds`` are whole numbers (``-1``
    draws a random one per cell). ``sizes`` lists aspect presets (``"16:9"``) and
    ``(width, height)`` pairs; without it every image is ``width`` x ``height`` (default
    `COMPARE_SIDE`, 512, square) or ``aspect``-shaped by the rule every door uses.
    ``models`` lists the family's models by short name or WaveSpeed id (``["4b", "9b"]``:
    the same prompt and seed on each, the model in each row or column label); 4B alone
    by default. ``loras`` (as `KleinClient.generate` takes them) style every cell, on 4B's
    LoRA endpoint.

    Rows, columns and (for a third axis) sections say what differs; the varying words
    are highlighted. The cost is printed before anything is sent, images already in the
    gallery are free, and more than 64 new images (``confirm_over``, $0.512) asks first
    (``confirm=True`` goes ahead, ``False`` refuses); ``fresh=True`` asks again even
    for images the gallery has; ``sync=True`` uses WaveSpeed's sync mode. ``tiles=True``
    shows one prompt's seeds as unlabelled tiles that wrap (four as 2x2, as ``%klein -n
    4``); ``on_item`` and ``on_progress`` are the batch runner's callbacks, called in this
    thread. Everything is validated first; a
    cell that fails shows its error and the others still render. In a notebook the grid
    shows at once and fills in as images arrive (``display=False``: not at all).

    Example:
        >>> compare("a {red|blue} fox", seeds=[1, 2], sizes=["1:1", "16:9"])  # doctest: +SKIP
        >>> compare(["a lighthouse", "a lighthouse at night"], seeds=[1, 2, 3])  # doctest: +SKIP
        >>> compare("a harbour at dawn", seeds=[7], models=["4b", "9b"])  # doctest: +SKIP
    """
    texts = as_prompts(prompts)
    seed_values = as_seeds(seeds)
    size_values, size_names = as_sizes(sizes, width, height, aspect)
    model_values = as_models(models, loras)
    # The LoRAs as (path, scale) by the client's rule; each model's request checks them too.
    lora_values = check_loras(model_values[0], loras) if loras else ()
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 16:
        raise ValueError(f"workers must be a whole number from 1 to 16, not {workers!r}")
    expanded = [expand_variants(text, wildcards=wildcards) for text in texts]
    # Validate every cell before sending anything: one bad seed must not leave half a grid.
    plan = plan_grid(
        expanded,
        seed_values,
        size_values,
        size_names,
        models=model_values,
        loras=lora_values,
        sync=sync,
    )
    if client is None:
        from klein_widget._session import session

        client = session().client()
    if client.key_missing:
        raise _config.missing_key_error()
    total = len(plan.requests)
    items: list[Generation | BaseException | None] = [None] * total
    shown: list[LiveGrid | None] = []  # the live grid, started with the first image
    if display:
        every = Variants(texts[0], (), tuple(v for e in expanded for v in e))  # every prompt
        cost = every.cost_text(
            len(seed_values), len(size_values), client.base_url, models=model_values
        )
        print(f"compare: {cost}")

    base_url = client.base_url

    def live_grid(title: str) -> GridHTML:
        return render(plan, items, title, base_url, thumbnail, tiles)

    def arrived(item: BatchItem) -> None:
        items[item.index] = item.generation if item.generation is not None else item.error
        if display and not shown:
            shown.append(LiveGrid.start(live_grid))
        if shown and shown[0] is not None:
            done = sum(cell is not None for cell in items)
            shown[0].update(f"{done} of {total} done…")
        if on_item is not None:
            on_item(item)

    started = time.monotonic()
    # The one batch runner: cost asked first, images already in the gallery free, 429s
    # paced, and every cell filled in as it arrives (in this thread).
    client.generate_many(
        plan.requests,
        concurrency=workers,
        progress=False,
        confirm=confirm,
        confirm_over=confirm_over,
        fresh=fresh,
        on_item=arrived,
        on_progress=on_progress,
    )
    live = shown[0] if shown else None
    finished = tuple(item for item in items if isinstance(item, Generation | BaseException))
    result = CompareResult(plan, finished, time.monotonic() - started, client.base_url, tiles)
    if live is not None:
        live.update(result.summary)
        live.mark_shown(result._shown_live)
    return result


# --- what compare() is given, read and checked before anything is sent ---------------


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
