"""`compare()`: an X/Y/Z grid of prompt variants, seeds and sizes, made concurrently.

Fixing the seed while changing the prompt shows what the words do; fixing the prompt
while changing the seed shows what chance does; sizes show what the frame does. A
template's variant groups (``"a {red|blue} fox"``, see `klein_widget.lessons._variants`)
are axes of their own; `klein_widget.lessons._axes` says which axis goes where. Labels
emphasise the words that vary. ``CompareResult.save("grid.png")`` writes it for slides.

The work runs in a small thread pool on the session's shared blocking client (no event
loop tricks, so it also works in scripts). In a notebook the grid appears at once and
fills in as images arrive; a failed cell shows its error and the others still render.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klein_widget.client import _config
from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._generation import Generation
from klein_widget.client._models import PRICE_PER_IMAGE_MILLS
from klein_widget.client._run import Progress
from klein_widget.client._sync_client import KleinClient
from klein_widget.client.batch._plan import BatchItem
from klein_widget.lessons._axes import (
    COMPARE_SIDE,
    GridPlan,
    PromptLike,
    SizeLike,
    as_prompts,
    as_seeds,
    as_sizes,
    plan_grid,
)
from klein_widget.lessons._live import LiveGrid
from klein_widget.lessons._variants import VARIANTS_CONFIRM_OVER, Variants, expand_variants
from klein_widget.ui._grid import (
    GRID_THUMBNAIL_SIDE,
    Cell,
    GridHTML,
    GridSection,
    render_sections,
    render_tiles,
)
from klein_widget.ui._grid_image import grid_png
from klein_widget.ui._text import price_text

__all__ = ["COMPARE_SIDE", "DEFAULT_SEEDS", "CompareResult", "compare"]

DEFAULT_SEEDS = (1, 2, 3)


@dataclass(frozen=True)
class CompareResult:
    """The outcome of `compare`: ``cells[row][column]`` is a `Generation` or the exception
    that cell raised; rows follow ``prompts``, columns follow ``seeds``.

    Displays as the grid. ``generations`` lists the images made, ``errors`` the failures.

    With a third axis, ``result[section, row, column]`` reaches every table.

    Example:
        >>> result = compare(["a fox", "a fox in snow"], seeds=[1, 2])  # doctest: +SKIP
        >>> result[1, 0].prompt, result[1, 0].seed  # doctest: +SKIP
        ('a fox in snow', 1)
        >>> result.save("grid.png")  # doctest: +SKIP
    """

    plan: GridPlan
    items: tuple[Generation | BaseException, ...]  # one per request, in plan order
    elapsed: float = 0.0
    base_url: str = ""  # where the images came from: prices on a local emulator are simulated
    tiles: bool = False  # one prompt, one size: unlabelled tiles that wrap (four as 2x2)
    _shown_live: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    @property
    def prompts(self) -> tuple[str, ...]:
        """Every prompt, variants expanded."""
        return self.plan.prompts

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds asked for (-1: a random one per cell)."""
        return self.plan.seeds

    @property
    def sizes(self) -> tuple[tuple[int, int], ...]:
        """The ``(width, height)`` sizes."""
        return self.plan.sizes

    @property
    def width(self) -> int:
        """The (first) size's width."""
        return self.sizes[0][0]

    @property
    def height(self) -> int:
        """The (first) size's height."""
        return self.sizes[0][1]

    @property
    def sections(self) -> list[GridSection]:
        """The grid's tables (one unless a third axis varies)."""
        return self.plan.layout(self.items)

    @property
    def cells(self) -> tuple[tuple[Cell, ...], ...]:
        """The first table's rows of cells."""
        return tuple(tuple(row) for row in self.sections[0].rows)

    def __getitem__(self, index: int | tuple[int, ...]) -> Generation | BaseException:
        if isinstance(index, int):  # the index-th cell in request order, as a list's
            return self.items[index]
        section, row, column = (0, *index) if len(index) == 2 else index
        cell = self.sections[section].rows[row][column]
        if not isinstance(cell, Generation | BaseException):
            raise IndexError(f"no image at {index}")
        return cell

    def __iter__(self) -> Iterator[Generation | BaseException]:
        """Every cell, in request order (prompt, then seed, then size)."""
        return iter(self.items)

    def __len__(self) -> int:
        """How many cells (made or failed)."""
        return len(self.items)

    @property
    def generations(self) -> list[Generation]:
        """The images made, row by row."""
        return [cell for cell in self if isinstance(cell, Generation)]

    @property
    def errors(self) -> list[tuple[str, int, BaseException]]:
        """``(prompt, seed, error)`` for each cell that failed."""
        return [
            (request.prompt, request.seed, item)
            for request, item in zip(self.plan.requests, self.items, strict=True)
            if isinstance(item, BaseException)
        ]

    @property
    def cost(self) -> float:
        """Dollars for the images made this time (those from the gallery or a pack cost 0)."""
        paid = sum(generation.cost > 0 for generation in self.generations)  # Generation's rule
        return paid * PRICE_PER_IMAGE_MILLS / 1000

    @property
    def reused(self) -> int:
        """How many images came from the gallery or a lesson pack, free."""
        return sum(generation.from_gallery for generation in self.generations)

    @property
    def summary(self) -> str:
        """The grid's title line: its axes, images, cost and time."""
        return _summary(self)

    def grid(self, *, thumbnail: int | None = None) -> GridHTML:
        """The grid as HTML (``thumbnail`` sets the thumbnail side in pixels)."""
        return _render(self.plan, self.items, self.summary, self.base_url, thumbnail, self.tiles)

    def png(self, *, thumbnail: int = GRID_THUMBNAIL_SIDE) -> bytes:
        """The grid as one labelled PNG image (bytes)."""
        return grid_png(self.sections, title=self.summary, thumbnail_side=thumbnail)

    def save(self, path: str | os.PathLike[str], *, thumbnail: int = GRID_THUMBNAIL_SIDE) -> Path:
        """Write the grid as one labelled PNG (for slides) and return its path.

        Example:
            >>> compare("a {red|blue} fox", seeds=[1, 2]).save("grid.png")  # doctest: +SKIP
            PosixPath('grid.png')
        """
        target = Path(path).expanduser()
        target.write_bytes(self.png(thumbnail=thumbnail))
        return target

    def _repr_html_(self) -> str | None:
        # compare() already showed this grid live in the running cell: don't show it twice
        # when the call is also the cell's last line. In later cells it displays normally.
        if self._shown_live.is_set():
            return None
        return str(self.grid())

    def _ipython_display_(self) -> None:
        # As _repr_html_, and nothing at all (not the text repr) when already shown live.
        if not self._shown_live.is_set():
            from IPython.display import display

            display(GridHTML(self.grid()))  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return (
            f"CompareResult({_axes_text(self)}, {_count(len(self.generations), 'image')}, "
            f"{len(self.errors)} failed, {self.elapsed:.1f} s)"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _axes_text(result: CompareResult) -> str:
    text = f"{_count(len(result.prompts), 'prompt')} x {_count(len(result.seeds), 'seed')}"
    return text + (f" x {len(result.sizes)} sizes" if len(result.sizes) > 1 else "")


def _summary(result: CompareResult) -> str:
    made, failed = len(result.generations), len(result.errors)
    at = "" if len(result.sizes) > 1 else f" at {result.width}x{result.height}"
    text = (
        f"{_axes_text(result)}{at}: {_count(made, 'image')} "
        f"({price_text(result.cost, result.base_url)}) in {result.elapsed:.1f} s"
    )
    text += f", {failed} failed" if failed else ""
    text += f", {result.reused} from your gallery, free" if result.reused else ""
    if len(result.prompts) == 1 and (result.plan.rows is not None or result.tiles):
        # no row says the prompt
        text += f" · {result.prompts[0]}"
    return text


def _render(
    plan: GridPlan,
    items: Sequence[Cell],
    title: str,
    base_url: str,
    thumbnail: int | None,
    tiles: bool,
) -> GridHTML:
    options: dict[str, Any] = {} if thumbnail is None else {"thumbnail": thumbnail}
    if tiles:
        return render_tiles(items, title=title, base_url=base_url or None, **options)
    return render_sections(plan.layout(items), title=title, base_url=base_url or None, **options)


def compare(
    prompts: PromptLike | Sequence[PromptLike],
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    *,
    sizes: Sequence[SizeLike] | None = None,
    width: int | None = None,
    height: int | None = None,
    aspect: str | None = None,
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
    """Make every combination of prompt variants, seeds and sizes, and show them as a grid.

    ``prompts`` is one template or a list of prompts (strings or `PromptBuilder`);
    ``{red|blue}``, ``{2::a|b}``, ``{2$$a|b|c}`` and ``__wildcard__`` expand (see
    `klein_widget.lessons._variants`; ``wildcards`` names the folder). Each variant group
    of one template is an axis; a list is one axis. ``seeds`` are whole numbers (``-1``
    draws a random one per cell). ``sizes`` lists aspect presets (``"16:9"``) and
    ``(width, height)`` pairs; without it every image is ``width`` x ``height`` (default
    `COMPARE_SIDE`, 512, square) or ``aspect``-shaped by the rule every door uses.

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
    """
    texts = as_prompts(prompts)
    seed_values = as_seeds(seeds)
    size_values, size_names = as_sizes(sizes, width, height, aspect)
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 16:
        raise ValueError(f"workers must be a whole number from 1 to 16, not {workers!r}")
    expanded = [expand_variants(text, wildcards=wildcards) for text in texts]
    # Validate every cell before sending anything: one bad seed must not leave half a grid.
    plan = plan_grid(texts, seed_values, size_values, size_names, expanded=expanded)
    if sync:  # WaveSpeed's sync mode for every cell
        synced = tuple(dataclasses.replace(r, sync_mode=True) for r in plan.requests)
        plan = dataclasses.replace(plan, requests=synced)
    if client is None:
        from klein_widget._session import session

        client = session().client()
    if client.key_missing:
        raise _config.missing_key_error()
    total = len(plan.requests)
    items: list[Generation | BaseException | None] = [None] * total
    shown: list[LiveGrid | None] = []  # the live grid, started with the first image
    if display:
        counts = (len(seed_values), len(size_values), client.base_url)
        cost = expanded[0].cost_text(*counts)
        if len(expanded) > 1:  # a list of prompts: count them all
            cost = Variants(texts[0], (), tuple(v for e in expanded for v in e)).cost_text(*counts)
        print(f"compare: {cost}")

    base_url = client.base_url

    def render(title: str) -> GridHTML:
        return _render(plan, items, title, base_url, thumbnail, tiles)

    def arrived(item: BatchItem) -> None:
        items[item.index] = item.generation if item.generation is not None else item.error
        if display and not shown:
            shown.append(LiveGrid.start(render))
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
        live.update(_summary(result))
        live.mark_shown(result._shown_live)
    return result
