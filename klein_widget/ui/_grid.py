"""`render_grid`: a labelled HTML grid of generations, for `compare()` and ``%klein -n N``.

Cells are `Generation` objects (shown as small inline thumbnails made by
`klein_widget.ui._images`, captioned with their seed; hover for the full prompt),
exceptions (shown as their message), ``None`` (still waiting) or plain text. Row and
column labels are text, or lists of `Segment` so the words that differ between prompts
can be emphasised (`highlight_differences` finds them).

The result is an HTML string that also displays itself in Jupyter. Everything shown is
escaped, styles are inline (they survive sanitizers, VS Code and Colab) and colours come
from JupyterLab's theme variables with fallbacks, so the grid reads in light and dark themes.

Example (one row of seeds, as ``%klein -n 3`` shows it):
    >>> gens = [client.generate("a red fox", seed=s) for s in (1, 2, 3)]  # doctest: +SKIP
    >>> render_grid([gens], title="a red fox")  # doctest: +SKIP

Example (prompts by seeds, with the differing words emphasised):
    >>> prompts = ["a red fox", "a red fox, oil painting"]
    >>> labels = highlight_differences(prompts)
    >>> [s.text for s in labels[1] if s.emphasised]
    ['oil painting']
    >>> html = render_grid([[None, None], [None, None]], row_labels=labels,
    ...                    column_labels=["seed 1", "seed 2"])
    >>> "<mark" in html and "oil painting" in html
    True
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from klein_widget.client._generation import Generation
from klein_widget.ui._images import ThumbnailError, thumbnail_uri
from klein_widget.ui._text import error_text

__all__ = [
    "GRID_THUMBNAIL_SIDE",
    "Cell",
    "GridHTML",
    "Label",
    "Segment",
    "highlight_differences",
    "render_grid",
]

GRID_THUMBNAIL_SIDE = 256  # px, long side: enough to compare, small enough for notebooks


@dataclass(frozen=True)
class Segment:
    """A piece of a label; ``emphasised`` pieces are highlighted."""

    text: str
    emphasised: bool = False


Label: TypeAlias = str | Sequence[Segment]
Cell: TypeAlias = Generation | BaseException | str | None


class GridHTML(str):
    """An HTML string that Jupyter displays as HTML (and prints briefly as text)."""

    __slots__ = ()

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<GridHTML, {len(self)} characters>"


# --- emphasis ---------------------------------------------------------------------------

_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}"


def _normalise(word: str) -> str:
    return word.strip(_EDGE_PUNCTUATION).lower()


def _common_words(token_lists: Sequence[list[str]]) -> list[str]:
    """The longest common word sequence of all prompts, found pairwise (good enough)."""
    common = token_lists[0]
    for tokens in token_lists[1:]:
        matcher = difflib.SequenceMatcher(a=common, b=tokens, autojunk=False)
        common = [
            w
            for block in matcher.get_matching_blocks()
            for w in common[block.a : block.a + block.size]
        ]
    return common


def highlight_differences(prompts: Sequence[str]) -> list[list[Segment]]:
    """Split each prompt into segments, emphasising the words it adds to the common part.

    The common part is the word sequence every prompt shares (case and edge punctuation
    ignored). With a single prompt, or identical prompts, nothing is emphasised.

    Example:
        >>> rows = highlight_differences(["a fox", "a fox in snow", "a small fox"])
        >>> [[s.text for s in row if s.emphasised] for row in rows]
        [[], ['in snow'], ['small']]
    """
    matches = [list(_WORD.finditer(p)) for p in prompts]
    token_lists = [[_normalise(m.group()) for m in ms] for ms in matches]
    if len(prompts) < 2:
        return [[Segment(p)] if p else [] for p in prompts]
    common = _common_words(token_lists)
    result: list[list[Segment]] = []
    for prompt, ms, tokens in zip(prompts, matches, token_lists, strict=True):
        # Words of this prompt that are part of the common sequence, aligned the same way.
        matcher = difflib.SequenceMatcher(a=tokens, b=common, autojunk=False)
        shared = {
            i for blk in matcher.get_matching_blocks() for i in range(blk.a, blk.a + blk.size)
        }
        result.append(_segments(prompt, ms, shared))
    return result


def _segments(prompt: str, matches: list[re.Match[str]], shared: set[int]) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for index, match in enumerate(matches):
        emphasised = index not in shared
        gap = prompt[position : match.start()]
        position = match.end()
        if segments and segments[-1].emphasised == emphasised:
            segments[-1] = Segment(segments[-1].text + gap + match.group(), emphasised)
        elif segments and not segments[-1].emphasised:
            # Whitespace between a plain and an emphasised run belongs to the plain side.
            segments[-1] = Segment(segments[-1].text + gap, False)
            segments.append(Segment(match.group(), emphasised))
        else:
            segments.append(Segment(gap + match.group(), emphasised))
    return segments


# --- HTML -------------------------------------------------------------------------------

_FONT = "var(--jp-ui-font-color1, inherit)"
_MUTED = "var(--jp-ui-font-color2, #777)"
_BORDER = "var(--jp-border-color2, rgba(128, 128, 128, 0.35))"
_ERROR = "var(--jp-error-color1, #d32f2f)"
# Translucent, so the highlight reads on light and dark backgrounds alike.
_MARK = "background: rgba(255, 196, 0, 0.38); color: inherit; padding: 0 2px; border-radius: 3px;"
_CELL = f"padding: 6px; vertical-align: top; text-align: center; border: 1px solid {_BORDER};"
_LABEL = f"padding: 6px 10px; vertical-align: middle; border: 1px solid {_BORDER}; color: {_FONT};"


def label_html(label: Label) -> str:
    """A label as escaped HTML, emphasised segments in ``<mark>``."""
    if isinstance(label, str):
        return html.escape(label)
    parts = []
    for segment in label:
        text = html.escape(segment.text)
        parts.append(f'<mark style="{_MARK}">{text}</mark>' if segment.emphasised else text)
    return "".join(parts)


def _label_text(label: Label) -> str:
    return label if isinstance(label, str) else "".join(s.text for s in label)


def _cell_html(cell: Cell, side: int) -> str:
    box = f"width: {side}px; max-width: 100%; margin: 0 auto;"
    if isinstance(cell, Generation):
        tip = html.escape(
            f"{cell.prompt}\nseed {cell.seed} · {cell.size[0]}x{cell.size[1]}", quote=True
        )
        caption = f"seed {cell.seed}" + (" · flagged NSFW" if cell.nsfw else "")
        try:
            picture = (
                f'<img src="{thumbnail_uri(cell, side)}" alt="{tip}" '
                'style="display: block; max-width: 100%; height: auto; margin: 0 auto; '
                'border-radius: 3px;"/>'
            )
        except ThumbnailError as error:  # one unreadable image must not break the grid
            picture = (
                f'<div style="color: {_ERROR}; font-size: 0.9em;">{html.escape(str(error))}</div>'
            )
        return (
            f'<figure style="{box}" title="{tip}">{picture}'
            f'<figcaption style="font-size: 0.85em; color: {_MUTED}; margin-top: 3px;">'
            f"{html.escape(caption)}</figcaption></figure>"
        )
    if isinstance(cell, BaseException):
        message = html.escape(error_text(cell))
        return (
            f'<div style="{box} color: {_ERROR}; font-size: 0.9em; text-align: left; '
            f'white-space: pre-wrap;" role="alert">{message}</div>'
        )
    text = "waiting…" if cell is None else cell
    return f'<div style="{box} color: {_MUTED}; font-size: 0.9em;">{html.escape(text)}</div>'


def _check_labels(name: str, labels: Sequence[Label] | None, count: int) -> None:
    if labels is not None and len(labels) != count:
        raise ValueError(f"{name} has {len(labels)} labels for {count} {name.split('_')[0]}s")


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
    columns = max((len(row) for row in rows), default=0)
    _check_labels("row_labels", row_labels, len(rows))
    _check_labels("column_labels", column_labels, columns)
    if thumbnail < 16:
        raise ValueError(f"thumbnail must be at least 16 px, not {thumbnail}")
    lines = [f'<div class="klein-grid" style="color: {_FONT}; overflow-x: auto; max-width: 100%;">']
    if title is not None:
        lines.append(f'<div style="font-weight: 600; margin: 4px 0 6px;">{label_html(title)}</div>')
    lines.append('<table style="border-collapse: collapse; margin: 0; table-layout: auto;">')
    if column_labels is not None:
        corner = f'<th style="{_LABEL}"></th>' if row_labels is not None else ""
        heads = "".join(
            f'<th scope="col" style="{_LABEL} text-align: center; font-weight: 600;">'
            f"{label_html(label)}</th>"
            for label in column_labels
        )
        lines.append(f"<thead><tr>{corner}{heads}</tr></thead>")
    lines.append("<tbody>")
    for index, row in enumerate(rows):
        cells = []
        if row_labels is not None:
            label = row_labels[index]
            tip = html.escape(_label_text(label), quote=True)
            cells.append(
                f'<th scope="row" title="{tip}" style="{_LABEL} text-align: left; '
                f'font-weight: normal; max-width: 18em; overflow-wrap: anywhere;">'
                f"{label_html(label)}</th>"
            )
        cells.extend(f'<td style="{_CELL}">{_cell_html(cell, thumbnail)}</td>' for cell in row)
        cells.extend(f'<td style="{_CELL}"></td>' for _ in range(columns - len(row)))
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</tbody></table></div>")
    return GridHTML("\n".join(lines))
