"""The panel's input controls: prompt, size (sliders, aspect presets, swap) and seed.

They cannot hold an invalid value: the sliders stop at 256-1536 in steps of 16 and the
seed box at -1 (random) to 2147483647. `Controls.request` turns them into a validated
`GenerationRequest`.

Example:
    >>> controls = Controls(prompt="a red fox", width=1024, height=1024)  # doctest: +SKIP
    >>> controls.apply_preset("16:9"); controls.size  # doctest: +SKIP
    (1024, 576)
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as w

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import (
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    RANDOM_SEED,
    SIDE_STEP,
    GenerationRequest,
)

PRESETS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "4:3": (4, 3),
    "3:4": (3, 4),
    "3:2": (3, 2),
    "2:3": (2, 3),
    "16:9": (16, 9),
    "9:16": (9, 16),
}
_LABEL = {"description_width": "52px"}
PLACEHOLDER = "Describe the image, e.g. a red fox in fresh snow at golden hour, telephoto"


def snap(value: float) -> int:
    """Round to the model's step of 16 and clamp to 256-1536.

    Example:
        >>> snap(682.7), snap(100), snap(4000)
        (688, 256, 1536)
    """
    stepped = math.floor(value / SIDE_STEP + 0.5) * SIDE_STEP  # half up, not to even
    return max(MIN_SIDE, min(MAX_SIDE, stepped))


def preset_size(ratio: tuple[int, int], long_side: int) -> tuple[int, int]:
    """The size with aspect ``ratio`` whose longer side is ``long_side`` (snapped to 16).

    If the shorter side would be under 256 it becomes 256 and the longer side grows.

    Example:
        >>> preset_size((16, 9), 1024), preset_size((3, 4), 1024), preset_size((16, 9), 256)
        ((1024, 576), (768, 1024), (448, 256))
    """
    rw, rh = ratio
    big, little = max(rw, rh), min(rw, rh)
    long_px = snap(long_side)
    short_px = snap(long_px * little / big)
    if long_px * little / big < MIN_SIDE:
        short_px, long_px = MIN_SIDE, snap(MIN_SIDE * big / little)
    return (long_px, short_px) if rw >= rh else (short_px, long_px)


def check_side(name: str, value: object) -> int:
    """Validate a width or height set from Python; snaps to a multiple of 16."""
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_SIDE <= value <= MAX_SIDE:
        raise InvalidRequestError(
            f"{name} must be a whole number of pixels from {MIN_SIDE} to {MAX_SIDE}, not {value!r}",
            field=name,
        )
    return snap(value)


def check_seed(value: object) -> int:
    """Validate a seed set from Python: -1 (random) or 0 to 2147483647."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not RANDOM_SEED <= value <= MAX_SEED
    ):
        raise InvalidRequestError(
            f"seed must be a whole number from 0 to {MAX_SEED}, or -1 for random, not {value!r}",
            field="seed",
        )
    return value


def _button(description: str, icon: str, tooltip: str, **layout: Any) -> Any:
    return w.Button(
        description=description,
        icon=icon,
        tooltip=tooltip,
        layout=w.Layout(width="auto", **layout),
    )


class Controls:
    """The input widgets and what they do to each other (presets, swap, seed buttons)."""

    def __init__(self, *, prompt: str = "", width: int = 1024, height: int = 1024, seed: int = -1):
        self.prompt = w.Textarea(
            value=prompt,
            placeholder=PLACEHOLDER,
            description="Prompt",
            rows=3,
            style=_LABEL,
            layout=w.Layout(width="100%"),
        )
        self.enhance = _button(
            "Enhance prompt",
            "magic",
            "Rewrite the prompt with WaveSpeed's prompt optimizer ($0.001)",
        )
        self.undo = _button("Undo", "undo", "Go back to the prompt before enhancing")
        self.undo.disabled = True
        self.enhance_note = w.HTML(layout=w.Layout(flex="1 1 auto", margin="0 0 0 8px"))
        slider = {
            "min": MIN_SIDE,
            "max": MAX_SIDE,
            "step": SIDE_STEP,
            "style": _LABEL,
            "layout": w.Layout(width="320px"),
        }
        self.width = w.IntSlider(value=check_side("width", width), description="Width", **slider)
        self.height = w.IntSlider(
            value=check_side("height", height), description="Height", **slider
        )
        self.swap = _button("", "exchange", "Swap width and height")
        self.swap.add_class("klein-swap")
        self.presets = {
            name: w.Button(
                description=name,
                tooltip=f"Aspect {name}, keeping the longer side",
                layout=w.Layout(width="52px"),
            )
            for name in PRESETS
        }
        for name, button in self.presets.items():
            button.add_class("klein-preset")
            button.on_click(lambda _b, name=name: self.apply_preset(name))
        self.seed = w.BoundedIntText(
            value=check_seed(seed),
            min=RANDOM_SEED,
            max=MAX_SEED,
            description="Seed",
            style=_LABEL,
            layout=w.Layout(width="200px"),
        )
        self.random_seed = _button("Random", "random", "A new random seed for each image (-1)")
        self.reuse_seed = _button("Reuse last seed", "repeat", "The seed of the image shown")
        self.reuse_seed.disabled = True
        self.seed_note = w.HTML()
        self.swap.on_click(lambda _b: self.do_swap())
        self.random_seed.on_click(lambda _b: setattr(self.seed, "value", RANDOM_SEED))
        self.width.observe(self._sizes_changed, "value")
        self.height.observe(self._sizes_changed, "value")
        self.seed.observe(self._seed_changed, "value")
        self._sizes_changed()
        self._seed_changed()

    # --- behaviour --------------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as set."""
        return (int(self.width.value), int(self.height.value))

    def do_swap(self) -> None:
        """Swap width and height."""
        width, height = self.size
        self.width.value, self.height.value = height, width

    def apply_preset(self, name: str) -> None:
        """Set the size to the aspect ``name`` (e.g. ``"16:9"``), keeping the longer side."""
        width, height = preset_size(PRESETS[name], max(self.size))
        self.width.value, self.height.value = width, height

    def active_preset(self) -> str | None:
        """The preset the current size matches, if any."""
        for name, ratio in PRESETS.items():
            if preset_size(ratio, max(self.size)) == self.size:
                return name
        return None

    def _sizes_changed(self, _change: object = None) -> None:
        active = self.active_preset()
        for name, button in self.presets.items():
            if name == active:
                button.add_class("mod-active")
            else:
                button.remove_class("mod-active")

    def _seed_changed(self, _change: object = None) -> None:
        text = "random for each image" if self.seed.value == RANDOM_SEED else "fixed"
        self.seed_note.value = (
            f'<span style="color: var(--jp-ui-font-color2, #666); font-size: 12px">{text}</span>'
        )

    def request(self) -> GenerationRequest:
        """A validated request from the controls (raises `InvalidRequestError`)."""
        width, height = self.size
        return GenerationRequest(self.prompt.value, width, height, int(self.seed.value))

    # --- layout -----------------------------------------------------------------------

    def rows(self) -> list[Any]:
        """The control rows, top to bottom."""
        row = {"align_items": "center", "flex_flow": "row wrap"}
        spacer = w.Layout(width="52px", flex="0 0 auto")
        # Right-aligned like the descriptions of the other rows.
        preset_label = w.HTML(
            '<div style="text-align: right; color: var(--jp-ui-font-color1, #333)">Aspect</div>',
            layout=w.Layout(width="52px", flex="0 0 auto", margin="0 6px 0 2px"),
        )
        return [
            self.prompt,
            w.HBox(
                [w.HTML(layout=spacer), self.enhance, self.undo, self.enhance_note],
                layout=w.Layout(**row),
            ),
            w.HBox([self.width, self.height, self.swap], layout=w.Layout(**row)),
            w.HBox([preset_label, *self.presets.values()], layout=w.Layout(**row)),
            w.HBox(
                [self.seed, self.random_seed, self.reuse_seed, self.seed_note],
                layout=w.Layout(**row),
            ),
        ]
