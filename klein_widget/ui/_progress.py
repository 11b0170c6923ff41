"""Progress of a batch: an ipywidgets bar in a notebook kernel, a text bar on stderr in a
terminal, nothing when asked for none; plus asking for confirmation where someone can answer.

Example:
    >>> bar = progress_bar(10, enabled=False)
    >>> bar.update(done=3, failed=0, skipped=1)
    >>> bar.close()
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from klein_widget.client._journal import Bar, NoBar

__all__ = ["Bar", "ask", "in_kernel", "progress_bar"]

_TEXT_WIDTH = 24


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where widgets can display and ``input()`` asks the page)."""
    if "ipykernel" not in sys.modules:  # never import IPython just to find out
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def ask(question: str) -> str | None:
    """Ask on stdin and return the answer, or None if nobody can answer (never hangs)."""
    if not in_kernel():
        stdin = sys.stdin
        if stdin is None or stdin.closed or not stdin.isatty():
            return None
    try:
        return input(question)
    except (EOFError, NotImplementedError):  # ipykernel without stdin: StdinNotImplementedError
        return None


def _summary(done: int, total: int, failed: int, skipped: int) -> str:
    text = f"{done}/{total}"
    if skipped:
        text += f", {skipped} from the gallery"
    if failed:
        text += f", {failed} failed"
    return text


class _TextBar:
    """``klein [#########...............] 9/24, 1 failed`` rewritten in place on stderr."""

    def __init__(self, total: int, label: str, stream: TextIO) -> None:
        self.total, self.label, self.stream = total, label, stream
        self._last = ""
        self._note = ""
        self._counts = (0, 0, 0)

    def note(self, text: str) -> None:
        """A rate limit's countdown, shown after the counts until the next image is done."""
        self._note = text
        done, failed, skipped = self._counts
        self.update(done=done, failed=failed, skipped=skipped)
        self._note = ""

    def update(self, *, done: int, failed: int, skipped: int) -> None:
        self._counts = (done, failed, skipped)
        filled = _TEXT_WIDTH * done // max(1, self.total)
        line = (
            f"\r{self.label} [{'#' * filled}{'.' * (_TEXT_WIDTH - filled)}] "
            f"{_summary(done, self.total, failed, skipped)}"
        )
        line += f" · {self._note}" if self._note else ""
        if line != self._last:
            self.stream.write(line.ljust(len(self._last)))
            self.stream.flush()
            self._last = line

    def close(self) -> None:
        if self._last:
            self.stream.write("\n")
            self.stream.flush()


class _WidgetBar:
    """An ``IntProgress`` and a ``Label`` side by side, displayed in the running cell."""

    def __init__(self, total: int, label: str) -> None:
        import ipywidgets
        from IPython.display import display

        self.total = total
        self.bar: Any = ipywidgets.IntProgress(value=0, min=0, max=max(1, total))
        self.text: Any = ipywidgets.Label(value=f"{label}: 0/{total}")
        self.label = label
        self.summary = f"{label}: 0/{total}"
        self.failed = 0
        self.box: Any = ipywidgets.HBox([self.bar, self.text])
        display(self.box)  # type: ignore[no-untyped-call]

    def update(self, *, done: int, failed: int, skipped: int) -> None:
        self.bar.value = done
        self.failed = failed
        self.summary = f"{self.label}: {_summary(done, self.total, failed, skipped)}"
        self.text.value = self.summary

    def note(self, text: str) -> None:
        """A rate limit's countdown beside the counts, until the next image is done."""
        self.text.value = f"{self.summary} · {text}"

    def close(self) -> None:
        self.bar.bar_style = "warning" if self.failed else "success"


def progress_bar(
    total: int, *, enabled: bool | None = None, label: str = "klein", stream: TextIO | None = None
) -> Bar:
    """A bar for ``total`` items. ``enabled``: None = automatic, True = always, False = none.

    Automatic means a widget in a notebook kernel, text if stderr is a terminal, else none.
    """
    if enabled is False:
        return NoBar()
    if in_kernel():
        return _WidgetBar(total, label)
    out = stream or sys.stderr
    if enabled or (out is not None and out.isatty()):
        return _TextBar(total, label, out)
    return NoBar()
