"""`CompareResult`: what `klein_widget.lessons._compare.compare` returns, a grid of
images (or the errors of their cells) that displays itself, its title line, and its PNG;
`LiveGrid`, the display a grid fills in while it is made (in a kernel only); and
`hold_until_cell_ends`, the rule that keeps a result shown live from showing twice.

Example:
    >>> result = compare("a {red|blue} fox", seeds=[1, 2])  # doctest: +SKIP
    >>> result[1, 0].prompt, len(result), result.summary  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klein_widget.client._generation import Generation
from klein_widget.client._ledger import unconfirmed_text
from klein_widget.lessons._axes import GridPlan
from klein_widget.ui._grid import (
    GRID_THUMBNAIL_SIDE,
    Cell,
    GridHTML,
    GridSection,
    render_sections,
    render_tiles,
)
from klein_widget.ui._grid_image import grid_png
from klein_widget.ui._progress import in_kernel
from klein_widget.ui._text import price_text

__all__ = ["CompareResult", "LiveGrid", "hold_until_cell_ends", "render"]


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
    def models(self) -> tuple[str, ...]:
        """The models' short names (``("4b", "9b")``)."""
        return tuple(model.name for model in self.plan.models)

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
        """Every cell, in request order (prompt, then model, seed and size)."""
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
        # Each image at its model's price, summed in mills so the total is exact.
        return sum(round(generation.cost * 1000) for generation in self.generations) / 1000

    @property
    def cost_text(self) -> str:
        """The cost as every door shows it: simulated on an emulator, and the part
        reserved at an unconfirmed price marked so (the ledger's rule)."""
        unconfirmed = sum(round(g.cost * 1000) for g in self.generations if not g.price_confirmed)
        shown = price_text(self.cost, self.base_url)
        return unconfirmed_text(shown, unconfirmed, round(self.cost * 1000))

    @property
    def reused(self) -> int:
        """How many images came from the gallery or a lesson pack, free."""
        return sum(generation.from_gallery for generation in self.generations)

    @property
    def summary(self) -> str:
        """The grid's title line: its axes, images, cost and time."""
        made, failed = len(self.generations), len(self.errors)
        at = "" if len(self.sizes) > 1 else f" at {self.width}x{self.height}"
        text = (
            f"{_axes_text(self)}{at}: {_count(made, 'image')} "
            f"({self.cost_text}) in {self.elapsed:.1f} s"
        )
        text += f", {failed} failed" if failed else ""
        text += f", {self.reused} from your gallery, free" if self.reused else ""
        if len(self.prompts) == 1 and (self.plan.rows is not None or self.tiles):
            # no row says the prompt
            text += f" · {self.prompts[0]}"
        return text

    def grid(self, *, thumbnail: int | None = None) -> GridHTML:
        """The grid as HTML (``thumbnail`` sets the thumbnail side in pixels)."""
        return render(self.plan, self.items, self.summary, self.base_url, thumbnail, self.tiles)

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
    text = _count(len(result.prompts), "prompt")
    text += f" x {len(result.models)} models" if len(result.models) > 1 else ""
    text += f" x {_count(len(result.seeds), 'seed')}"
    return text + (f" x {len(result.sizes)} sizes" if len(result.sizes) > 1 else "")


def render(
    plan: GridPlan,
    items: Sequence[Cell],
    title: str,
    base_url: str,
    thumbnail: int | None,
    tiles: bool,
) -> GridHTML:
    """The grid as HTML: labelled tables, or (``tiles``) one prompt's seeds that wrap."""
    options: dict[str, Any] = {} if thumbnail is None else {"thumbnail": thumbnail}
    if tiles:
        return render_tiles(items, title=title, base_url=base_url or None, **options)
    return render_sections(plan.layout(items), title=title, base_url=base_url or None, **options)


class LiveGrid:
    """A display that is updated in place while a grid fills in (only inside a kernel).

    Example:
        >>> LiveGrid.start(lambda title: GridHTML(title)) is None  # not in a kernel
        True
    """

    def __init__(self, shell: Any, render: Callable[[str], GridHTML]) -> None:
        from IPython.display import display

        self._shell = shell
        self._render = render
        self._handle = display(render(""), display_id=True)  # type: ignore[no-untyped-call]

    @classmethod
    def start(cls, render: Callable[[str], GridHTML]) -> LiveGrid | None:
        """A live grid in a Jupyter kernel; None elsewhere (a terminal can't show HTML)."""
        if not in_kernel():
            return None
        from IPython import get_ipython

        return cls(get_ipython(), render)

    def update(self, title: str) -> None:
        self._handle.update(self._render(title))

    def mark_shown(self, flag: threading.Event) -> None:
        """Set ``flag`` until the running cell finishes, then clear it."""
        hold_until_cell_ends(self._shell, flag)


def hold_until_cell_ends(shell: Any, flag: threading.Event) -> None:
    """Set ``flag`` until ``shell``'s running cell finishes, then clear it.

    Example:
        >>> hold_until_cell_ends(get_ipython(), result._shown_live)  # doctest: +SKIP
    """
    flag.set()
    events = shell.events

    def clear(*_: object) -> None:
        flag.clear()
        events.unregister("post_run_cell", clear)

    events.register("post_run_cell", clear)
