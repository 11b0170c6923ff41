"""The panel's input controls: prompt, size (sliders, aspect presets, swap) and seed.

They cannot hold an invalid value: the sliders stop at 256-1536 in steps of 16 and the
seed box at -1 (random) to 2147483647. Values set from Python are checked by
`GenerationRequest`'s own rules (`klein_widget.ui._sizes.check_settings`), and
`Controls.request` turns the controls into a validated `GenerationRequest`. The presets
and their sizes are the ones every door uses (`klein_widget.ui._sizes`).

Example:
    >>> controls = Controls(prompt="a red fox", width=1024, height=1024)  # doctest: +SKIP
    >>> controls.apply_preset("16:9"); controls.size  # doctest: +SKIP
    (1024, 576)
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from klein_widget.client._models import (
    DEFAULT_SIDE,
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    RANDOM_SEED,
    SIDE_STEP,
    GenerationRequest,
)
from klein_widget.ui._sizes import ASPECT_PRESETS, check_settings, size_for_aspect, snap_side

_DESCRIPTION_STYLE = {"description_width": "52px"}
PLACEHOLDER = "Describe the image, e.g. a red fox in fresh snow at golden hour, telephoto"


def _button(description: str, icon: str, tooltip: str, **layout: Any) -> Any:
    return w.Button(
        description=description,
        icon=icon,
        tooltip=tooltip,
        layout=w.Layout(width="auto", **layout),
    )


class Controls:
    """The input widgets and what they do to each other (presets, swap, seed buttons)."""

    def __init__(
        self,
        *,
        prompt: str = "",
        width: int = DEFAULT_SIDE,
        height: int = DEFAULT_SIDE,
        seed: int = RANDOM_SEED,
    ) -> None:
        check_settings(width=width, height=height, seed=seed)  # before any widget exists
        self.prompt = w.Textarea(
            value=prompt,
            placeholder=PLACEHOLDER,
            description="Prompt",
            rows=3,
            style=_DESCRIPTION_STYLE,
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
            "style": _DESCRIPTION_STYLE,
            "layout": w.Layout(width="320px"),
        }
        self.width = w.IntSlider(value=snap_side(width), description="Width", **slider)
        self.height = w.IntSlider(value=snap_side(height), description="Height", **slider)
        self.swap = _button("", "exchange", "Swap width and height")
        self.swap.add_class("klein-swap")
        self.presets = {
            name: w.Button(
                description=name,
                tooltip=f"Aspect {name}, keeping the longer side",
                layout=w.Layout(width="52px"),
            )
            for name in ASPECT_PRESETS
        }
        for name, button in self.presets.items():
            button.add_class("klein-preset")
            button.on_click(lambda _b, name=name: self.apply_preset(name))
        self.seed = w.BoundedIntText(
            value=seed,
            min=RANDOM_SEED,
            max=MAX_SEED,
            description="Seed",
            style=_DESCRIPTION_STYLE,
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

    def set_side(self, name: str, value: int) -> None:
        """Set ``"width"`` or ``"height"`` from Python: checked by the model's rules, then
        snapped to the sliders' step of 16 (raises `InvalidRequestError`)."""
        check_settings(**{name: value})
        getattr(self, name).value = snap_side(value)

    def set_seed(self, value: int) -> None:
        """Set the seed from Python, checked by the model's rules (-1 is random)."""
        check_settings(seed=value)
        self.seed.value = value

    def do_swap(self) -> None:
        """Swap width and height."""
        width, height = self.size
        self.width.value, self.height.value = height, width

    def apply_preset(self, name: str) -> None:
        """Set the size to the aspect ``name`` (e.g. ``"16:9"``), keeping the longer side."""
        width, height = size_for_aspect(name, max(self.size))
        self.width.value, self.height.value = width, height

    def active_preset(self) -> str | None:
        """The preset the current size matches, if any."""
        for name in ASPECT_PRESETS:
            if size_for_aspect(name, max(self.size)) == self.size:
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
