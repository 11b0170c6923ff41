"""What ``%klein`` shows: its results, each shown once, and a live status line.

``%klein`` shows its image itself (so ``fox = %klein ...`` shows it too) and returns it.
If the call is also the cell's last expression, IPython would show the returned value a
second time; what ``%klein`` has shown (`show_once`) is therefore silent until the cell
finishes, by the rule `compare`'s grids follow
(`klein_widget.lessons._compare_result.hold_until_cell_ends`). `ShownGeneration` is the image
returned; `StatusLine` is the one line of text above.

Example (in a notebook):
    >>> fox = %klein a red fox  # shown here, once  # doctest: +SKIP
    >>> fox  # the cell's last expression: not shown again  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import dataclasses
import html
import threading
import time
from typing import Any, TypeVar

from IPython import display as _ipython_display
from IPython import get_ipython

from klein_widget._session import session
from klein_widget.client._generation import Generation
from klein_widget.client._models import PRICE_PER_ENHANCE_MILLS
from klein_widget.lessons._compare_result import hold_until_cell_ends
from klein_widget.ui._figure import generation_alt, nsfw_gate
from klein_widget.ui._progress import in_kernel
from klein_widget.ui._text import price_text

__all__ = [
    "ShownGeneration",
    "StatusLine",
    "display",
    "image_html",
    "show_once",
    "with_enhancement",
]

_STATUS_INTERVAL = 0.25  # s between status updates within one stage (keeps output light)


def display(*objects: Any, **options: Any) -> Any:
    """`IPython.display.display`, typed."""
    return _ipython_display.display(*objects, **options)  # type: ignore[no-untyped-call]


# --- shown once -------------------------------------------------------------------------


def show_once(value: Any, flag: threading.Event) -> None:
    """Show ``value`` now, and keep ``flag`` set (``value`` silent) until the cell ends.

    The one rule for every ``%klein`` result, an image or `compare`'s grid: the call may
    also be the cell's last line, and IPython would show the value a second time.
    """
    display(value)
    shell = get_ipython()
    if shell is not None:
        hold_until_cell_ends(shell, flag)


G = TypeVar("G", bound=Generation)


def copy_as(kind: type[G], generation: Generation) -> G:
    """The same generation as a ``kind`` (every field kept, ``from_gallery`` too)."""
    fields = {f.name: getattr(generation, f.name) for f in dataclasses.fields(Generation)}
    return kind(**fields)


def _plain(generation: Generation) -> Generation:
    return copy_as(Generation, generation)


def with_enhancement(text: str, images: float, base_url: str, *, enhanced: bool) -> str:
    """``text`` with the prompt enhancer's price added to the total (``%klein --enhance``).

    Example:
        >>> with_enhancement("Done · $0.008", 0.008, "https://api.wavespeed.ai", enhanced=True)
        'Done · $0.008 · prompt enhanced $0.001 · $0.009 in all'
    """
    if not enhanced:
        return text
    enhancer = PRICE_PER_ENHANCE_MILLS / 1000
    return (
        f"{text} · prompt enhanced {price_text(enhancer, base_url)} · "
        f"{price_text(images + enhancer, base_url)} in all"
    )


def image_html(generation: Generation) -> str:
    """One image as ``%klein`` shows it: bounded as the panel's (at most 60% of the window's
    height and the cell's width, its shape kept), with alt text, hidden if flagged NSFW.

    Example:
        >>> "max-height: 60vh" in image_html(fox)  # doctest: +SKIP
        True
    """
    mime = "image/jpeg" if generation.format == "jpeg" else "image/png"
    data = base64.b64encode(generation.image).decode("ascii")
    alt = html.escape(generation_alt(generation, session().base_url), quote=True)
    width, height = generation.size
    picture = (
        f'<img src="data:{mime};base64,{data}" alt="{alt}" width="{width}" height="{height}" '
        'style="display: block; max-width: 100%; max-height: 60vh; width: auto; height: auto; '
        'object-fit: contain;"/>'
    )
    return f'<div class="klein-image">{nsfw_gate(picture, nsfw=generation.nsfw)}</div>'


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class ShownGeneration(Generation):
    """The `Generation` ``%klein`` returns: the same image, not shown twice in its cell.

    Example:
        >>> fox = %klein a red fox  # doctest: +SKIP
        >>> fox.seed, fox.save("fox.png")  # doctest: +SKIP
    """

    _shown: threading.Event = dataclasses.field(
        default_factory=threading.Event, repr=False, compare=False
    )

    def _ipython_display_(self) -> None:
        if not self._shown.is_set():
            display({"text/html": image_html(self), "text/plain": repr(_plain(self))}, raw=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Generation):
            return _plain(self) == _plain(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as Generation's: fields are unhashable


# --- the status line ----------------------------------------------------------------------


class StatusLine:
    """One line of text, updated in place (a display handle).

    In a terminal every update prints a new line, so there only a new stage (``key``)
    or a final text is shown, not the ticking seconds.

    Example:
        >>> line = StatusLine("Submitting…")  # doctest: +SKIP
        >>> line.update("Done in 0.7 s · seed 42", force=True)  # doctest: +SKIP
    """

    def __init__(self, text: str) -> None:
        self._handle: Any = display({"text/plain": text}, raw=True, display_id=True)
        self._text = text
        self._key = ""
        self._at = time.monotonic()
        self._live = in_kernel()

    def update(self, text: str, *, key: str = "", force: bool = False) -> None:
        """Show ``text``; within one ``key`` (stage), at most every `_STATUS_INTERVAL`."""
        now = time.monotonic()
        if text == self._text:
            return
        if not force and key == self._key and (not self._live or now - self._at < _STATUS_INTERVAL):
            return
        self._handle.update({"text/plain": text}, raw=True)
        self._text, self._key, self._at = text, key, now
