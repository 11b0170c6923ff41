"""Grids of generations as HTML that fits the notebook: `compare()` and ``%klein -n N``.

Cells are `Generation` objects (small inline thumbnails made by `klein_widget.ui._images`,
captioned with their seed; hover for the full prompt), exceptions (their message),
``None`` (still waiting) or plain text. Labels are text or lists of `Segment`, so the
words that differ can be highlighted (`klein_widget.ui._labels`).

Layout rules, for an 800-px notebook column or narrower: a labelled grid
(`render_grid`, `render_sections`) is a fixed-layout table as wide as the cell and never
wider than its thumbnails need; images scale down with it, and row labels keep a fifth
of the width or more and wrap between words. Unlabelled images (`render_tiles`, ``%klein
-n 4``) wrap into a near-square block (2x2 for four). Nothing scrolls sideways.

The result is an HTML string that also displays itself in Jupyter. Everything shown is
escaped, styles are inline (they survive sanitizers, saved notebooks, VS Code and Colab)
and colours come from JupyterLab's theme variables with fallbacks (light and dark).

Example (prompts by seeds, with the differing words emphasised):
    >>> prompts = ["a red fox", "a red fox, oil painting"]
    >>> labels = highlight_differences(prompts)
    >>> [s.text for s in labels[1] if s.emphasised]
    ['oil painting']
    >>> html = render_grid([[None, None], [None, None]], row_labels=labels,
    ...                    column_labels=["seed 1", "seed 2"])
    >>> "<mark" in html and "oil painting" in html and "table-layout: fixed" in html
    True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from klein_widget.ui._grid_cells import (
    BORDER,
    CELL_CSS,
    FONT,
    LABEL_CSS,
    Cell,
    cell_html,
    label_html,
    title_html,
)
from klein_widget.ui._labels import Label, Segment, highlight_differences, label_text

__all__ = [
    "GRID_THUMBNAIL_SIDE",
    "Cell",
    "GridHTML",
    "GridSection",
    "Label",
    "Segment",
    "highlight_differences",
    "render_grid",
    "render_sections",
    "render_tiles",
    "tile_columns",
]

GRID_THUMBNAIL_SIDE = 256  # px, long side: enough to compare, small enough for notebooks
LABEL_WIDTH = 180  # px the row labels get when there is room
_CELL_PAD = 14  # px around a thumbnail (padding and border)


class GridHTML(str):
    """An HTML string that Jupyter displays as HTML (and prints briefly as text)."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<GridHTML, {len(self)} characters>"


@dataclass(frozen=True)
class GridSection:
    """One table of a grid: rows of cells, their labels, and a heading (a third axis).

    Example:
        >>> GridSection([[None]], column_labels=["seed 1"], heading="16:9").heading
        '16:9'
    """

    rows: Sequence[Sequence[Cell]]
    row_labels: Sequence[Label] | None = None
    column_labels: Sequence[Label] | None = None
    heading: Label | None = None

    @property
    def columns(self) -> int:
        """The number of columns (the longest row)."""
        return max((len(row) for row in self.rows), default=0)

    def check(self) -> None:
        """Raise ValueError if a label list does not match the rows or columns."""
        _check_labels("row_labels", self.row_labels, len(self.rows))
        _check_labels("column_labels", self.column_labels, self.columns)


def _check_labels(name: str, labels: Sequence[Label] | None, count: int) -> None:
    if labels is not None and len(labels) != count:
        raise ValueError(f"{name} has {len(labels)} labels for {count} {name.split('_')[0]}s")


def _table(section: GridSection, side: int, base_url: str | None) -> str:
    columns = section.columns
    labelled = section.row_labels is not None
    natural = columns * (side + _CELL_PAD) + (LABEL_WIDTH if labelled else 0)
    lines = [
        f'<table style="border-collapse: collapse; margin: 0 0 8px; table-layout: fixed; '
        f'width: 100%; max-width: {natural}px;">'
    ]
    if labelled:  # a fifth of the width or more, so labels wrap between words
        share = min(40.0, max(20.0, 100 * LABEL_WIDTH / natural))
        lines.append(f'<colgroup><col style="width: {share:.1f}%;"/></colgroup>')
    if section.column_labels is not None:
        corner = f'<th style="{LABEL_CSS}"></th>' if labelled else ""
        heads = "".join(
            f'<th scope="col" style="{LABEL_CSS} text-align: center; font-weight: 600; '
            f'overflow-wrap: break-word;">{label_html(label)}</th>'
            for label in section.column_labels
        )
        lines.append(f"<thead><tr>{corner}{heads}</tr></thead>")
    lines.append("<tbody>")
    for index, row in enumerate(section.rows):
        cells = []
        if section.row_labels is not None:
            label = section.row_labels[index]
            tip = html.escape(label_text(label), quote=True)
            cells.append(
                f'<th scope="row" title="{tip}" style="{LABEL_CSS} text-align: left; '
                'font-weight: normal; overflow-wrap: break-word; hyphens: auto;">'
                f"{label_html(label)}</th>"
            )
        cells.extend(
            f'<td style="{CELL_CSS}">{cell_html(cell, side, base_url)}</td>' for cell in row
        )
        cells.extend(f'<td style="{CELL_CSS}"></td>' for _ in range(columns - len(row)))
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


def _check_side(thumbnail: int) -> None:
    if thumbnail < 16:
        raise ValueError(f"thumbnail must be at least 16 px, not {thumbnail}")


def render_sections(
    sections: Sequence[GridSection],
    *,
    title: Label | None = None,
    thumbnail: int = GRID_THUMBNAIL_SIDE,
    base_url: str | None = None,
) -> GridHTML:
    """Several labelled tables under one title, each with its heading (an X/Y/Z grid).
    ``base_url`` (where the images came from) tells emulator stand-ins in alt texts.

    Example:
        >>> html = render_sections([GridSection([["a"]], heading="1:1"),
        ...                         GridSection([["b"]], heading="16:9")], title="sizes")
        >>> html.count("<table"), "16:9" in html
        (2, True)
    """
    _check_side(thumbnail)
    for section in sections:
        section.check()
    lines = [f'<div class="klein-grid" style="color: {FONT}; max-width: 100%;">']
    lines.append(title_html(title))
    for section in sections:
        if section.heading is not None:
            lines.append(
                f'<div style="font-weight: 600; margin: 10px 0 4px;">'
                f"{label_html(section.heading)}</div>"
            )
        lines.append(_table(section, thumbnail, base_url))
    lines.append("</div>")
    return GridHTML("\n".join(line for line in lines if line))


def render_grid(
    rows: Sequence[Sequence[Cell]],
    *,
    row_labels: Sequence[Label] | None = None,
    column_labels: Sequence[Label] | None = None,
    title: Label | None = None,
    thumbnail: int = GRID_THUMBNAIL_SIDE,
) -> GridHTML:
    """An HTML table of ``rows`` of cells, with optional row and column labels and a title.

    Each cell is a `Generation` (thumbnail, captioned with its seed, prompt on hover), an
    exception (its message), ``None`` ("waiting…") or text. Rows may differ in length.
    The returned string displays itself as HTML in Jupyter.

    Example:
        >>> html = render_grid([["waiting"]], column_labels=["seed 7"], title="<b>x</b>")
        >>> "seed 7" in html and "&lt;b&gt;x&lt;/b&gt;" in html
        True
    """
    section = GridSection(rows, row_labels, column_labels)
    return render_sections([section], title=title, thumbnail=thumbnail)


def tile_columns(count: int) -> int:
    """Columns for ``count`` unlabelled images: up to 3 in a row, then a near square.

    Example:
        >>> [tile_columns(n) for n in (1, 3, 4, 6, 9, 16)]
        [1, 3, 2, 3, 3, 4]
    """
    return max(1, count if count <= 3 else math.ceil(math.sqrt(count)))


def render_tiles(
    cells: Sequence[Cell],
    *,
    title: Label | None = None,
    thumbnail: int = GRID_THUMBNAIL_SIDE,
    base_url: str | None = None,
) -> GridHTML:
    """Unlabelled images that wrap into `tile_columns` columns and shrink to fit the cell.

    Example:
        >>> html = render_tiles([None] * 4)
        >>> "repeat(2, minmax(0, 1fr))" in html
        True
    """
    _check_side(thumbnail)
    count = tile_columns(len(cells))
    natural = count * (thumbnail + _CELL_PAD)
    tiles = "".join(
        f'<div style="border: 1px solid {BORDER}; padding: 6px; min-width: 0; '
        'text-align: center;">'
        f"{cell_html(cell, thumbnail, base_url)}</div>"
        for cell in cells
    )
    return GridHTML(
        f'<div class="klein-grid" style="color: {FONT}; max-width: 100%;">'
        f"{title_html(title)}"
        f'<div style="display: grid; grid-template-columns: repeat({count}, minmax(0, 1fr)); '
        f'gap: 4px; width: 100%; max-width: {natural}px;">{tiles}</div></div>'
    )
