"""`compare()`: every prompt with every seed, made concurrently, shown as a labelled grid.

Rows are prompts, columns are seeds. Fixing the seed while changing the prompt shows
what the words do; fixing the prompt while changing the seed shows what chance does.
Row labels emphasise the words each prompt adds to the part all prompts share.

The work runs in a small thread pool on the session's shared blocking client (no event
loop tricks, so it also works in scripts). In a notebook the grid appears at once and
fills in as images arrive; a failed cell shows its error and the others still render.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from klein_widget.client import _config
from klein_widget.client._generation import Generation
from klein_widget.client._models import (
    PRICE_PER_IMAGE_MILLS,
    RANDOM_SEED,
    GenerationRequest,
)
from klein_widget.client._plan import DEFAULT_CONFIRM_OVER, BatchItem
from klein_widget.client._sync_client import KleinClient
from klein_widget.lessons._prompts import PromptBuilder
from klein_widget.ui._grid import Cell, GridHTML, highlight_differences, render_grid
from klein_widget.ui._sizes import size_for_aspect
from klein_widget.ui._text import price_text

__all__ = ["COMPARE_SIDE", "DEFAULT_SEEDS", "CompareResult", "compare"]

DEFAULT_SEEDS = (1, 2, 3)
# compare()'s own choice, not the model's default (DEFAULT_SIDE, 1024): a grid shows
# thumbnails, and 512 px images cost the same but arrive sooner.
COMPARE_SIDE = 512
MAX_WORKERS = 4  # concurrent requests: enough to overlap waiting, gentle on rate limits

PromptLike = str | PromptBuilder


@dataclass(frozen=True)
class CompareResult:
    """The outcome of `compare`: ``cells[row][column]`` is a `Generation` or the exception
    that cell raised; rows follow ``prompts``, columns follow ``seeds``.

    Displays as the grid. ``generations`` lists the images made, ``errors`` the failures.

    Example:
        >>> result = compare(["a fox", "a fox in snow"], seeds=[1, 2])  # doctest: +SKIP
        >>> result[1, 0].prompt, result[1, 0].seed  # doctest: +SKIP
        ('a fox in snow', 1)
    """

    prompts: tuple[str, ...]
    seeds: tuple[int, ...]
    width: int
    height: int
    cells: tuple[tuple[Generation | BaseException, ...], ...]
    elapsed: float = 0.0
    base_url: str = ""  # where the images came from: prices on a local emulator are simulated
    _shown_live: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def __getitem__(self, index: tuple[int, int]) -> Generation | BaseException:
        row, column = index
        return self.cells[row][column]

    def __iter__(self) -> Iterator[Generation | BaseException]:
        """Every cell, row by row."""
        return (cell for row in self.cells for cell in row)

    @property
    def generations(self) -> list[Generation]:
        """The images made, row by row."""
        return [cell for cell in self if isinstance(cell, Generation)]

    @property
    def errors(self) -> list[tuple[str, int, BaseException]]:
        """``(prompt, seed, error)`` for each cell that failed."""
        return [
            (self.prompts[r], self.seeds[c], cell)
            for r, row in enumerate(self.cells)
            for c, cell in enumerate(row)
            if isinstance(cell, BaseException)
        ]

    @property
    def cost(self) -> float:
        """Dollars for the images made."""
        return len(self.generations) * PRICE_PER_IMAGE_MILLS / 1000

    def grid(self, *, thumbnail: int | None = None) -> GridHTML:
        """The grid as HTML (``thumbnail`` sets the thumbnail side in pixels)."""
        cells: list[list[Cell]] = [list(row) for row in self.cells]
        return _render(
            self.prompts, self.seeds, self.width, self.height, cells, thumbnail, _summary(self)
        )

    def _repr_html_(self) -> str | None:
        # compare() already showed this grid live in the running cell: don't show it twice
        # when the call is also the cell's last line. In later cells it displays normally.
        if self._shown_live.is_set():
            return None
        return str(self.grid())

    def __repr__(self) -> str:
        return (
            f"CompareResult({_count(len(self.prompts), 'prompt')} x "
            f"{_count(len(self.seeds), 'seed')}, {_count(len(self.generations), 'image')}, "
            f"{len(self.errors)} failed, {self.elapsed:.1f} s)"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _summary(result: CompareResult) -> str:
    made, failed = len(result.generations), len(result.errors)
    text = (
        f"{_count(len(result.prompts), 'prompt')} x {_count(len(result.seeds), 'seed')} at "
        f"{result.width}x{result.height}: {_count(made, 'image')} "
        f"({price_text(result.cost, result.base_url)}) in {result.elapsed:.1f} s"
    )
    return text + (f", {failed} failed" if failed else "")


def _render(
    prompts: Sequence[str],
    seeds: Sequence[int],
    width: int,
    height: int,
    cells: list[list[Cell]],
    thumbnail: int | None,
    title: str,
) -> GridHTML:
    columns = [f"seed {s}" if s != RANDOM_SEED else "random seed" for s in seeds]
    options: dict[str, Any] = {} if thumbnail is None else {"thumbnail": thumbnail}
    return render_grid(
        cells,
        row_labels=highlight_differences(prompts),
        column_labels=columns,
        title=title,
        **options,
    )


def _as_prompts(prompts: PromptLike | Sequence[PromptLike]) -> tuple[str, ...]:
    items: Sequence[PromptLike] = [prompts] if isinstance(prompts, str | PromptBuilder) else prompts
    texts = tuple(str(p) if isinstance(p, PromptBuilder) else p for p in items)
    if not texts:
        raise ValueError("prompts is empty: give one prompt or a list, e.g. ['a fox', 'a cat']")
    return texts


def _as_seeds(seeds: int | Sequence[int]) -> tuple[int, ...]:
    values = (seeds,) if isinstance(seeds, int) else tuple(seeds)
    if not values:
        raise ValueError("seeds is empty: give one seed or a list, e.g. seeds=[1, 2, 3]")
    return values


def compare(
    prompts: PromptLike | Sequence[PromptLike],
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    *,
    width: int | None = None,
    height: int | None = None,
    aspect: str | None = None,
    client: KleinClient | None = None,
    display: bool = True,
    workers: int = MAX_WORKERS,
    thumbnail: int | None = None,
    confirm: bool | None = None,
    confirm_over: float | None = DEFAULT_CONFIRM_OVER,
) -> CompareResult:
    """Make every (prompt, seed) combination concurrently and show them as a grid.

    ``prompts`` are strings or `PromptBuilder` objects; ``seeds`` are whole numbers
    (``-1`` draws a random one per cell). It costs ``len(prompts) * len(seeds)`` images.
    Images are `COMPARE_SIDE` (512) px square unless ``width``/``height`` say otherwise;
    ``aspect="16:9"`` shapes them by the rule every door uses (the longer side 512, or
    the ``width`` or ``height`` given; see `klein_widget.ui._sizes.size_for_aspect`).
    ``client`` defaults to the session's shared client (see `klein_widget.connect`).
    With ``display=True`` in a notebook, the grid shows at once and fills in as images
    arrive. Everything is validated before anything is sent; a cell that fails shows
    its error and the others still render. Like `generate_many`, a grid costing more than
    ``confirm_over`` dollars asks first (``confirm=True`` goes ahead, ``False`` refuses).

    Example:
        >>> klein_widget.connect()  # doctest: +SKIP
        >>> compare(["a lighthouse", "a lighthouse at night, oil painting"],
        ...         seeds=[1, 2, 3])  # doctest: +SKIP
    """
    texts = _as_prompts(prompts)
    seed_values = _as_seeds(seeds)
    if aspect is not None:
        width, height = size_for_aspect(aspect, COMPARE_SIDE, width=width, height=height)
    width = COMPARE_SIDE if width is None else width
    height = COMPARE_SIDE if height is None else height
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 16:
        raise ValueError(f"workers must be a whole number from 1 to 16, not {workers!r}")
    # Validate every cell before sending anything: one bad seed must not leave half a grid.
    requests = [
        [GenerationRequest(text, width, height, seed) for seed in seed_values] for text in texts
    ]
    prompt_texts = tuple(row[0].prompt for row in requests)
    if client is None:
        from klein_widget._session import session

        client = session().client()
    if client.key_missing:
        raise _config.missing_key_error()
    flat = [request for row in requests for request in row]
    columns = len(seed_values)
    cells: list[list[Cell]] = [[None] * columns for _ in texts]
    total = len(flat)
    shown: list[_LiveGrid | None] = []  # the live grid, started with the first image

    def render(title: str) -> GridHTML:
        return _render(prompt_texts, seed_values, width, height, cells, thumbnail, title)

    def arrived(item: BatchItem) -> None:
        row, column = divmod(item.index, columns)
        cells[row][column] = item.generation if item.generation is not None else item.error
        if display and not shown:
            shown.append(_LiveGrid.start(render))
        if shown and shown[0] is not None:
            done = sum(cell is not None for row_cells in cells for cell in row_cells)
            shown[0].update(f"{done} of {total} done…")

    started = time.monotonic()
    # The one batch runner: cost asked first, images already in the gallery free, 429s
    # paced, and every cell filled in as it arrives (in this thread).
    client.generate_many(
        flat,
        concurrency=workers,
        progress=False,
        confirm=confirm,
        confirm_over=confirm_over,
        on_item=arrived,
    )
    live = shown[0] if shown else None

    finished: tuple[tuple[Generation | BaseException, ...], ...] = tuple(
        tuple(cell for cell in row if isinstance(cell, Generation | BaseException)) for row in cells
    )
    result = CompareResult(
        prompt_texts,
        seed_values,
        width,
        height,
        finished,
        time.monotonic() - started,
        client.base_url,
    )
    if live is not None:
        live.update(_summary(result))
        live.mark_shown(result._shown_live)
    return result


class _LiveGrid:
    """A display that is updated in place while a grid fills in (only inside IPython)."""

    def __init__(self, shell: Any, render: Callable[[str], GridHTML]) -> None:
        from IPython.display import display

        self._shell = shell
        self._render = render
        self._handle = display(render(""), display_id=True)  # type: ignore[no-untyped-call]

    @classmethod
    def start(cls, render: Callable[[str], GridHTML]) -> _LiveGrid | None:
        """A live grid in a Jupyter kernel; None elsewhere (a terminal can't show HTML)."""
        ipython = sys.modules.get("IPython")  # never import IPython just to find it absent
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is None or getattr(shell, "kernel", None) is None:
            return None
        return cls(shell, render)

    def update(self, title: str) -> None:
        self._handle.update(self._render(title))

    def mark_shown(self, flag: threading.Event) -> None:
        """Set ``flag`` until the running cell finishes, then clear it."""
        flag.set()
        events = self._shell.events

        def clear(*_: object) -> None:
            flag.clear()
            events.unregister("post_run_cell", clear)

        events.register("post_run_cell", clear)
