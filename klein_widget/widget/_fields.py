"""`PanelFields`: the panel's values as Python properties, for code and tests.

Reading gives what the controls hold; setting checks the value by `GenerationRequest`'s
own rules (`Controls.set_side`, `Controls.set_seed`), so ``panel.width = 100`` raises the
same `InvalidRequestError` a request would, and nothing changes.

Example:
    >>> panel.width = 1000  # doctest: +SKIP
    >>> panel.width  # snapped to the sliders' step of 16  # doctest: +SKIP
    1008
"""

from __future__ import annotations

from klein_widget.widget._controls import Controls
from klein_widget.widget._history import HistoryEntry, HistoryStrip
from klein_widget.widget._result import ResultView


class PanelFields:
    """Prompt, width, height and seed as properties, and what the panel shows.

    A mixin of `KleinPanel`, which sets ``controls``, ``result`` and ``history_strip``.
    """

    controls: Controls
    result: ResultView
    history_strip: HistoryStrip

    @property
    def prompt(self) -> str:
        """The prompt text."""
        return str(self.controls.prompt.value)

    @prompt.setter
    def prompt(self, value: str) -> None:
        self.controls.prompt.value = value

    @property
    def width(self) -> int:
        """Width in pixels, 256-1536 (set values snap to multiples of 16)."""
        return int(self.controls.width.value)

    @width.setter
    def width(self, value: int) -> None:
        self.controls.set_side("width", value)

    @property
    def height(self) -> int:
        """Height in pixels, 256-1536 (set values snap to multiples of 16)."""
        return int(self.controls.height.value)

    @height.setter
    def height(self, value: int) -> None:
        self.controls.set_side("height", value)

    @property
    def seed(self) -> int:
        """The seed, or -1 for a new random seed per image."""
        return int(self.controls.seed.value)

    @seed.setter
    def seed(self, value: int) -> None:
        self.controls.set_seed(value)

    @property
    def snippets(self) -> dict[str, str]:
        """The snippets of the image shown, by tab title ({} before any image)."""
        return dict(self.result.snippets)

    @property
    def history(self) -> list[HistoryEntry]:
        """This session's images in the strip, newest first."""
        return self.history_strip.entries
