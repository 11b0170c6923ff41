"""A grid as one labelled PNG, for slides: `grid_png` draws what `render_sections` shows.

Thumbnails come from the one rule in `klein_widget.ui._images`; labels wrap between
words and their emphasised words get the same yellow highlight and underline as in the
notebook. The
font is Pillow's bundled one (scalable with FreeType, which Pillow's wheels include), so
nothing is downloaded.

Example:
    >>> from klein_widget.ui._grid import GridSection
    >>> png = grid_png([GridSection([["waiting"]], row_labels=["a fox"])], title="x")
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from klein_widget.client._generation import Generation
from klein_widget.ui._grid import GRID_THUMBNAIL_SIDE, Cell, GridSection
from klein_widget.ui._images import ThumbnailError, thumbnail
from klein_widget.ui._labels import Label, Segment
from klein_widget.ui._text import error_text

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

__all__ = ["grid_png"]

_PNG_PAD = 10
_PNG_LABEL_WIDTH = 240
_PNG_INK = (34, 34, 34)
_PNG_MUTED = (110, 110, 110)
_PNG_ERROR = (200, 40, 40)
_PNG_MARK = (255, 214, 90)
_PNG_RULE = (210, 210, 210)


Lines = list[list[tuple[str, bool]]]


@dataclass
class _Block:
    """One band of the picture, top to bottom: a title, column heads, or a row."""

    kind: str
    height: int
    lines: Lines = field(default_factory=list)
    heads: list[Lines] = field(default_factory=list)
    row: Sequence[Cell] = ()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _words(label: Label) -> list[tuple[str, bool]]:
    segments = [Segment(label)] if isinstance(label, str) else list(label)
    # Pillow's bundled font has no "×" (it drew a box in "512×512").
    return [(word.replace("×", "x"), s.emphasised) for s in segments for word in s.text.split()]


def _row_height(row: Sequence[Cell], side: int) -> int:
    """The tallest thumbnail of a row: a landscape image's is less than ``side``."""
    heights = [
        side * min(cell.size[1], cell.size[0]) // max(cell.size[0], 1)
        for cell in row
        if isinstance(cell, Generation)
    ]
    return max(heights) if len(heights) == len(row) and heights else side


def _lines(
    draw: ImageDraw.ImageDraw,
    label: Label,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: float,
) -> Lines:
    """Greedy wrapping between words (a word wider than ``width`` gets a line of its own)."""
    lines: Lines = [[]]
    for word, emphasised in _words(label):
        trial = " ".join(w for w, _ in [*lines[-1], (word, emphasised)])
        if lines[-1] and draw.textlength(trial, font=font) > width:
            lines.append([])
        lines[-1].append((word, emphasised))
    return [line for line in lines if line]


def _draw_label(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    lines: Lines,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    height: int,
    colour: tuple[int, int, int] = _PNG_INK,
) -> None:
    x0, y = xy
    space = draw.textlength(" ", font=font)
    for line in lines:
        x = x0
        for index, (word, emphasised) in enumerate(line):
            length = draw.textlength(word, font=font)
            if emphasised:
                joined = index + 1 < len(line) and line[index + 1][1]
                right = x + length + (space if joined else 0) + 2
                draw.rounded_rectangle((x - 2, y - 1, right, y + height + 2), 3, fill=_PNG_MARK)
                # Underlined too: the change is visible without seeing colour.
                draw.line((x, y + height + 1, x + length, y + height + 1), fill=colour, width=2)
            draw.text((x, y), word, font=font, fill=colour)
            x += length + space
        y += height + 4


def _cell_image(cell: object, side: int) -> bytes | None:
    if isinstance(cell, Generation):
        try:
            return thumbnail(cell, side, blur=cell.nsfw)
        except ThumbnailError:
            return None
    return None


def _cell_text(cell: object) -> str:
    if isinstance(cell, BaseException):
        return error_text(cell)
    if isinstance(cell, Generation):
        return "cannot show this image"
    return "waiting…" if cell is None else str(cell)


def _draw_cell(
    picture: Image.Image,
    draw: ImageDraw.ImageDraw,
    cell: Cell,
    xy: tuple[int, int],
    side: int,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> None:
    from PIL import Image

    x, y = xy
    data = _cell_image(cell, side)
    if data is not None:
        with Image.open(io.BytesIO(data)) as thumb:
            picture.paste(thumb.convert("RGB"), (x, y))
        return
    draw.rectangle((x, y, x + side, y + side), outline=_PNG_RULE)
    text = _lines(draw, _cell_text(cell), font, side - 2 * _PNG_PAD)
    colour = _PNG_ERROR if isinstance(cell, BaseException) else _PNG_MUTED
    _draw_label(draw, (x + _PNG_PAD, y + _PNG_PAD), text, font, max(12, round(side / 16)), colour)


def grid_png(
    sections: Sequence[GridSection],
    *,
    title: Label | None = None,
    thumbnail_side: int = GRID_THUMBNAIL_SIDE,
) -> bytes:
    """One PNG of ``sections`` (their headings, labels and thumbnails) under ``title``."""
    from PIL import Image, ImageDraw

    side, size = thumbnail_side, max(12, round(thumbnail_side / 16))
    big = round(size * 1.25)
    font, bold = _font(size), _font(big)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labelled = any(s.row_labels is not None for s in sections)
    label_width = _PNG_LABEL_WIDTH * side // GRID_THUMBNAIL_SIDE if labelled else 0
    columns = max((s.columns for s in sections), default=1) or 1
    width = 2 * _PNG_PAD + label_width + columns * (side + _PNG_PAD)
    blocks: list[_Block] = []

    def heading(label: Label) -> None:
        lines = _lines(probe, label, bold, width - 2 * _PNG_PAD)
        blocks.append(_Block("title", len(lines) * (big + 4) + _PNG_PAD, lines=lines))

    if title is not None:
        heading(title)
    for section in sections:
        if section.heading is not None:
            heading(section.heading)
        if section.column_labels is not None:
            heads = [_lines(probe, label, font, side) for label in section.column_labels]
            tallest = max((len(h) for h in heads), default=1)
            blocks.append(_Block("heads", tallest * (size + 4) + _PNG_PAD, heads=heads))
        for index, row in enumerate(section.rows):
            label = section.row_labels[index] if section.row_labels is not None else ""
            lines = _lines(probe, label, font, label_width - _PNG_PAD) if label_width else []
            tall = max(_row_height(row, side), len(lines) * (size + 4)) + _PNG_PAD
            blocks.append(_Block("row", tall, lines=lines, row=row))
    picture = Image.new("RGB", (width, _PNG_PAD + sum(b.height for b in blocks)), (255, 255, 255))
    draw = ImageDraw.Draw(picture)
    y, left = _PNG_PAD, _PNG_PAD + label_width
    for block in blocks:
        if block.kind == "title":
            _draw_label(draw, (_PNG_PAD, y), block.lines, bold, big)
        for column, head in enumerate(block.heads):
            _draw_label(draw, (left + column * (side + _PNG_PAD), y), head, font, size)
        if block.kind == "row":
            _draw_label(draw, (_PNG_PAD, y), block.lines, font, size)
            for column, cell in enumerate(block.row):
                _draw_cell(picture, draw, cell, (left + column * (side + _PNG_PAD), y), side, font)
            rule = y + block.height - _PNG_PAD // 2
            draw.line((_PNG_PAD, rule, width - _PNG_PAD, rule), fill=_PNG_RULE)
        y += block.height
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
