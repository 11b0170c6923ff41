"""`LiveGrid`: a display updated in place while a grid fills in (only inside a kernel).

Example:
    >>> LiveGrid.start(lambda title: GridHTML(title)) is None  # not in a kernel
    True
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from klein_widget.ui._grid import GridHTML

__all__ = ["LiveGrid", "hold_until_cell_ends"]


class LiveGrid:
    """A display that is updated in place while a grid fills in (only inside IPython)."""

    def __init__(self, shell: Any, render: Callable[[str], GridHTML]) -> None:
        from IPython.display import display

        self._shell = shell
        self._render = render
        self._handle = display(render(""), display_id=True)  # type: ignore[no-untyped-call]

    @classmethod
    def start(cls, render: Callable[[str], GridHTML]) -> LiveGrid | None:
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
