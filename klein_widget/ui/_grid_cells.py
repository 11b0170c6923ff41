"""One grid cell as HTML, and the grids' colours: a `Generation` as a captioned thumbnail
(hover for the prompt, alt text, the NSFW gate), an exception as its message, ``None`` as
"waiting…", text as itself; labels with the words that differ in ``<mark>``.

Colours are JupyterLab's theme variables with fallbacks (light and dark).
"""

from __future__ import annotations

import html
from typing import TypeAlias

from klein_widget.client._generation import Generation
from klein_widget.ui._figure import generation_alt, nsfw_gate
from klein_widget.ui._images import ThumbnailError, thumbnail_uri
from klein_widget.ui._labels import Label
from klein_widget.ui._text import error_text

__all__ = [
    "BORDER",
    "CELL_CSS",
    "FONT",
    "LABEL_CSS",
    "Cell",
    "cell_html",
    "label_html",
    "title_html",
]

Cell: TypeAlias = Generation | BaseException | str | None

FONT = "var(--jp-ui-font-color1, inherit)"
_MUTED = "var(--jp-ui-font-color2, #777)"
BORDER = "var(--jp-border-color2, rgba(128, 128, 128, 0.35))"
_ERROR = "var(--jp-error-color1, #d32f2f)"
# Translucent, so the highlight reads on light and dark backgrounds alike; underlined and
# bold too, so the changed words stand out without seeing colour.
_MARK = (
    "background: rgba(255, 196, 0, 0.38); color: inherit; padding: 0 2px; border-radius: 3px; "
    "font-weight: 700; text-decoration: underline; text-decoration-thickness: 2px;"
)
CELL_CSS = f"padding: 6px; vertical-align: top; text-align: center; border: 1px solid {BORDER};"
LABEL_CSS = f"padding: 6px 8px; vertical-align: middle; border: 1px solid {BORDER}; color: {FONT};"


def label_html(label: Label) -> str:
    """A label as escaped HTML, emphasised segments in ``<mark>``."""
    if isinstance(label, str):
        return html.escape(label)
    parts = []
    for segment in label:
        text = html.escape(segment.text)
        parts.append(f'<mark style="{_MARK}">{text}</mark>' if segment.emphasised else text)
    return "".join(parts)


def cell_html(cell: Cell, side: int, base_url: str | None = None) -> str:
    """One cell: a captioned thumbnail (hover: the prompt), an error's message, or text."""
    box = f"max-width: {side}px; margin: 0 auto;"
    if isinstance(cell, Generation):
        tip = html.escape(
            f"{cell.prompt}\nseed {cell.seed} · {cell.size[0]}x{cell.size[1]}", quote=True
        )
        alt = html.escape(generation_alt(cell, base_url), quote=True)
        caption = f"seed {cell.seed}" + (" · flagged NSFW" if cell.nsfw else "")
        try:
            picture = nsfw_gate(
                f'<img src="{thumbnail_uri(cell, side)}" alt="{alt}" '
                'style="display: block; width: 100%; height: auto; margin: 0 auto; '
                'border-radius: 3px;"/>',
                nsfw=cell.nsfw,
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


def title_html(title: Label | None) -> str:
    """A grid's title line (nothing without one)."""
    if title is None:
        return ""
    return f'<div style="font-weight: 600; margin: 4px 0 6px;">{label_html(title)}</div>'
