"""`PanelState`: the panel's whole state as synced traits, its front end, and its display.

The front end is ``panel.js`` (a plain ES module, ``render({ model, el })``) and
``panel.css``, shipped next to this file: no build step, nothing from a CDN. Python, tests
and the browser see the same state. ``width``, ``height`` and ``seed`` are checked by
`GenerationRequest`'s own rules (`klein_widget.ui._sizes.check_settings`): setting an
invalid value raises the same `InvalidRequestError` a request would, and nothing changes.
Each image crosses the comm once: ``image`` stays in Python and the page learns its
``image_key``, asking for bytes it lacks (`klein_widget.widget._transfer`); thumbnails
travel as binary buffers of custom messages.

Displaying the panel shows the live view and, beside it, a static HTML fallback
(`klein_widget.widget._fallback`) updated by display id as images arrive.

Example:
    >>> panel = KleinPanel(prompt="a red fox")  # doctest: +SKIP
    >>> panel.width = 1000; panel.width  # snapped to the model's step of 16  # doctest: +SKIP
    1008
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import anywidget
from traitlets import Bool, Bytes, Dict, Enum, Int, List, TraitType, Unicode, observe

from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._family import MAX_REFERENCES
from klein_widget.client._ledger import money
from klein_widget.client._models import (
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    PRICE_PER_ENHANCE_MILLS,
    RANDOM_SEED,
    SIDE_STEP,
)
from klein_widget.ui._sizes import ASPECT_PRESETS, check_settings, size_for_aspect, snap_side
from klein_widget.widget._fallback import fallback_html
from klein_widget.widget._order import PANEL_MODES, canonical_weights, model_choices
from klein_widget.widget._tray import MAX_REFERENCE_BYTES

__all__ = ["PanelState", "Setting", "Weights"]

_HERE = Path(__file__).parent
LIVE_VIEW_TEXT = "KleinPanel: the live panel shows here when its cell runs with a kernel."


class Setting(TraitType[int, int]):
    """A width, height or seed: checked by the model's rules; sides snap to 16 px.

    Example:
        >>> class Box(HasTraits): width = Setting(1024)  # doctest: +SKIP
    """

    default_value = 0
    info_text = "a value GenerationRequest accepts"

    def validate(self, obj: Any, value: Any) -> int:
        check_settings(**{str(self.name): value})  # raises InvalidRequestError, as a request
        return value if self.name == "seed" else snap_side(value)


class Weights(TraitType[str, str]):
    """The picker's model: any name of the 4B or 9B weights, kept as ``"4b"``/``"9b"``
    (`klein_widget.client._family.resolve_model` refuses unknown names, as a request).

    Example:
        >>> panel.klein_model = "wavespeed-ai/flux-2-klein-9b/text-to-image"  # doctest: +SKIP
        >>> panel.klein_model  # doctest: +SKIP
        '9b'
    """

    default_value = "4b"
    info_text = "a model name of the family: '4b' or '9b'"

    def validate(self, obj: Any, value: Any) -> str:
        return canonical_weights(value)


class PanelState(anywidget.AnyWidget):
    """The traits of `KleinPanel` (see the module docstring)."""

    _esm = _HERE / "panel.js"
    _css = _HERE / "panel.css"

    prompt = Unicode("", help="The prompt text.").tag(sync=True)
    width = Setting(1024, help="Width in pixels, 256-1536 (snapped to 16).").tag(sync=True)
    height = Setting(1024, help="Height in pixels, 256-1536 (snapped to 16).").tag(sync=True)
    seed = Setting(RANDOM_SEED, help="The seed, or -1 for a new random one each time.").tag(
        sync=True
    )
    fresh = Bool(False, help="Ask WaveSpeed again, not the gallery.").tag(sync=True)
    status = Unicode("", help="The status line, as plain text.").tag(sync=True)
    status_lines = List(Dict(), help="The status lines: {text, kind}.").tag(sync=True)
    can_retry = Bool(False, help="The last generation failed: Retry is offered.").tag(sync=True)
    in_flight = List(Dict(), help="Generations in flight: {number, stage, elapsed, ...}.").tag(
        sync=True
    )
    running = Int(0, help="Generations in flight.").tag(sync=True)
    limits = Dict(
        {
            "min_side": MIN_SIDE,
            "max_side": MAX_SIDE,
            "step": SIDE_STEP,
            "min_seed": RANDOM_SEED,
            "max_seed": MAX_SEED,
            "max_references": MAX_REFERENCES,
            "max_reference_bytes": MAX_REFERENCE_BYTES,
            "max_in_flight": MAX_IN_FLIGHT,
        },
        help="The model's bounds and the panel's, for the front end's inputs.",
    ).tag(sync=True)
    presets = List(Unicode(), list(ASPECT_PRESETS), help="Aspect preset names.").tag(sync=True)
    active_preset = Unicode("1:1", help="The preset the size matches, or ''.").tag(sync=True)
    image = Bytes(
        b"",
        help="The image shown (parameters embedded); not synced: the page "
        "gets its bytes once (`klein_widget.widget._transfer`).",
    )
    image_key = Unicode("", help="Content key of the image shown (the page keeps them).").tag(
        sync=True
    )
    image_format = Unicode("png").tag(sync=True)
    image_info = Dict(help="The image shown: prompt, size, seed, id, file name...").tag(sync=True)
    image_stale = Bool(False, help="The image shown is not the last attempt's.").tag(sync=True)
    snippets = Dict(help="Code reproducing the image shown, by tab title.").tag(sync=True)
    history_items = List(Dict(), help="The history, newest first.").tag(sync=True)
    history_count = Int(0, help="Images in the history this panel's life.").tag(sync=True)
    current_id = Unicode("", help="Task id of the image shown.").tag(sync=True)
    seed_restored = Bool(False, help="The seed was fixed by a restore.").tag(sync=True)
    enhance_note = Unicode("").tag(sync=True)
    enhance_kind = Unicode("muted").tag(sync=True)
    enhancing = Bool(False).tag(sync=True)
    can_undo = Bool(False).tag(sync=True)
    connection = Unicode("", help="Where images come from.").tag(sync=True)
    spend_line = Unicode("", help="What was spent (and saved).").tag(sync=True)
    key_missing = Bool(False).tag(sync=True)
    prices = Dict(
        {"enhance": money(PRICE_PER_ENHANCE_MILLS / 1000)},
        help="Prices the page names, from Python (the page holds none of its own).",
    ).tag(sync=True)
    # The family (issue 24): the model picker, the mode and the reference tray.
    klein_model = Weights("4b", help="The model's weights: '4b' or '9b'.").tag(sync=True)
    models = List(Dict(), model_choices(), help="The picker's options.").tag(sync=True)
    mode = Enum(PANEL_MODES, "generate", help="'generate' or 'edit'.").tag(sync=True)
    model_line = Unicode("", help="The model and its price, in words.").tag(sync=True)
    references = List(Dict(), help="The reference tray, image 1 first.").tag(sync=True)
    size_as_reference = Bool(
        True, help="An edit keeps image 1's size (none is sent); False: the sliders' size."
    ).tag(sync=True)
    tray_note = Unicode("", help="What the tray last did or refused.").tag(sync=True)
    tray_kind = Unicode("muted").tag(sync=True)

    def apply_preset(self, name: str) -> None:
        """Set the size to the aspect ``name`` (e.g. ``"16:9"``), keeping the longer side."""
        self.width, self.height = size_for_aspect(name, max(self.width, self.height))

    def swap(self) -> None:
        """Swap width and height."""
        self.width, self.height = self.height, self.width

    def reuse_seed(self) -> None:
        """Fix the seed to the one of the image shown."""
        if self.image_info:
            self.seed = int(self.image_info["seed"])

    @observe("width", "height")
    def _size_changed(self, _change: object = None) -> None:
        size = (self.width, self.height)
        found = [n for n in ASPECT_PRESETS if size_for_aspect(n, max(size)) == size]
        self.active_preset = found[0] if found else ""

    @observe("seed")
    def _seed_changed(self, _change: object) -> None:
        self.seed_restored = False  # a restore sets it after the seed

    _fallback_id: str = ""
    _fallback: str = fallback_html(None)

    def _ipython_display_(self) -> None:
        """Show the live view and, beside it, the static fallback for saved notebooks."""
        from IPython.display import display

        if not self._fallback_id:
            self._fallback_id = f"klein-panel-{uuid.uuid4().hex}"
        data, metadata = self._repr_mimebundle_()  # type: ignore[misc]
        data["text/plain"] = LIVE_VIEW_TEXT  # shown where the live view cannot be
        display(data, metadata=metadata, raw=True)  # type: ignore[no-untyped-call]
        display(  # type: ignore[no-untyped-call]
            {"text/html": self._fallback}, raw=True, display_id=self._fallback_id
        )

    def _set_fallback(self, html: str) -> None:
        """Replace the static fallback (in every output that shows this panel)."""
        self._fallback = html
        if self._fallback_id:
            from IPython.display import update_display

            update_display(  # type: ignore[no-untyped-call]
                {"text/html": html}, raw=True, display_id=self._fallback_id
            )
