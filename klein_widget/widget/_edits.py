"""The panel's model picker, its mode (generate / edit) and its reference tray, wired.

`EditControls` keeps the tray (`klein_widget.widget._tray`) and writes what the page
shows of it into the panel's traits: ``references``, ``tray_note``, ``model_line`` and,
in edit mode with the size "as reference", ``width``/``height`` set to image 1's size
(snapped into the sliders' range) so the sliders show it. Moving a slider in edit mode
sends that size instead; "As reference" goes back. `EditControls.order` is what a click
asks for (`klein_widget.widget._order.PanelOrder`); an edit's history entry keeps it
(`HistoryEntry.made_by`), so restoring it from the history puts its references back in
the tray.

Example:
    >>> panel.edits.add_entry(panel.history[0].task_id)  # "Edit this"  # doctest: +SKIP
    >>> panel.mode, [r["number"] for r in panel.references]  # doctest: +SKIP
    ('edit', [1])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from klein_widget.client._models import RANDOM_SEED
from klein_widget.ui._sizes import snap_side
from klein_widget.widget._order import PanelOrder, canonical_weights, model_line
from klein_widget.widget._tray import ReferenceTray, TrayItem

if TYPE_CHECKING:
    from klein_widget.widget._history import HistoryEntry
    from klein_widget.widget._widget import KleinPanel

__all__ = ["EditControls"]

EMPTY_TRAY = (
    "Add a reference image to edit: Edit this on a history image, Add images…, drop a "
    "file on the tray, or paste one (Ctrl+V). Nothing was sent."
)


class EditControls:
    """Mode, model and references of one panel."""

    def __init__(self, panel: KleinPanel) -> None:
        self._panel = panel
        self.tray = ReferenceTray()
        self._sent: set[str] = set()  # tray thumbnails the page has
        self.sizing = False  # True while the size is set from image 1 (not the user)

    # --- what the page (or Python) asks for -------------------------------------------

    def add_bytes(self, data: bytes, name: str = "") -> bool:
        """A file, drop or paste from the page: into the tray, edit mode on."""
        return self._added(self.tray.add_bytes(data, name))

    def add_entry(self, task_id: str) -> bool:
        """ "Edit this" on history image ``task_id``: into the tray, edit mode on."""
        entry = self._panel._history.find(task_id)
        if entry is None:
            return self.refuse("That image is no longer in the history.")
        return self._added(self.tray.add_entry(entry))

    def remove(self, key: str) -> None:
        """Take a reference out of the tray."""
        found = self.tray.remove(key)
        if found is not None:
            self._note(f"Removed {found.label} from the tray.{self._count()}", "muted")
            self.sync()

    def move(self, key: str, by: int) -> None:
        """Move a reference earlier (-1) or later (+1): the prompt's numbers follow."""
        if self.tray.move(key, by):
            number = self.tray.number(key)
            self._note(f"{self.tray.items[number - 1].label} is now image {number}.", "muted")
            self.sync()

    def as_reference(self) -> None:
        """Edit at image 1's size again (no size is sent)."""
        self._panel.size_as_reference = True
        self.sync()

    def refuse(self, text: str) -> bool:
        """Say why nothing was added (the tray is unchanged)."""
        self._note(text, "error")
        self._panel.refresh()
        return False

    def _added(self, refusal: str) -> bool:
        if refusal:
            return self.refuse(refusal)
        item = self.tray.items[-1]
        self._panel.mode = "edit"
        self._note(f"Added {item.label} as image {len(self.tray)}.{self._count()}", "ok")
        self.sync()
        return True

    def _count(self) -> str:
        n = len(self.tray)
        return f" The tray holds {n} image{'s' if n != 1 else ''}." if n else " The tray is empty."

    def _note(self, text: str, kind: str) -> None:
        self._panel.tray_note, self._panel.tray_kind = text, kind

    # --- drawing ----------------------------------------------------------------------

    def sync(self) -> None:
        """Write the tray, the size it implies and the model line into the traits, and
        send the thumbnails the page lacks."""
        p = self._panel
        self.send_thumbnails([item for item in self.tray.items if item.key not in self._sent])
        with p.hold_sync():
            p.references = self.tray.front()
            self.apply_size()
            self.draw_model()
        p.refresh()

    def send_thumbnails(self, items: list[TrayItem] | None = None) -> None:
        """Send the thumbnails of ``items`` (default: all, for a view that just opened)."""
        items = self.tray.items if items is None else items
        if items:
            keys = [item.key for item in items]
            self._panel.send({"type": "tray_thumbs", "keys": keys}, [i.thumbnail for i in items])
            self._sent.update(keys)

    def apply_size(self) -> None:
        """In edit mode with the size "as reference", the sliders show image 1's size."""
        p, size = self._panel, self.tray.first_size
        if p.mode != "edit" or not p.size_as_reference or size is None:
            return
        self.sizing = True
        try:
            p.width, p.height = snap_side(size[0]), snap_side(size[1])
        finally:
            self.sizing = False

    def draw_model(self) -> None:
        """The header's model and price (`klein_widget.widget._order.model_line`)."""
        p = self._panel
        client = p.client
        p.model_line = model_line(
            p.klein_model, edit=p.mode == "edit", base_url=client.base_url, prices=client.prices
        )

    # --- clicks -----------------------------------------------------------------------

    def refusal(self) -> str:
        """Why the next click cannot be sent as asked (an edit with no reference), or ``""``."""
        return EMPTY_TRAY if self._panel.mode == "edit" and not len(self.tray) else ""

    def order(self) -> PanelOrder:
        """The model and references the next click uses."""
        p = self._panel
        if p.mode != "edit":
            return PanelOrder(p.klein_model)
        return PanelOrder(p.klein_model, tuple(self.tray.items), sized=not p.size_as_reference)

    def load(self, params: Mapping[str, Any]) -> None:
        """Put an image's parameters (``klein_widget.load_params(path)``: prompt, size,
        seed, model and, for an edit, its ``images``) into the panel."""
        p, images = self._panel, [str(i) for i in params.get("images") or ()]
        width, height = params.get("width"), params.get("height")
        with p.hold_trait_notifications():
            p.prompt = str(params.get("prompt", ""))
            p.seed = params.get("seed", RANDOM_SEED)
            p.klein_model = canonical_weights(params.get("model") or "4b")
            p.mode = "edit" if images else "generate"
            p.size_as_reference = bool(images) and width is None
        if images:
            self.tray.clear()
            for n, url in enumerate(images, 1):
                self.tray.add_url(url, label=f"reference {n}")
            self._note(f"Loaded an edit of {len(self.tray)} reference(s).", "ok")
        if width is not None and height is not None:
            p.width, p.height = width, height
        self.sync()

    def restore(self, entry: HistoryEntry) -> bool:
        """Put back the mode, model and references ``entry`` was made with; True for an
        edit (its size then follows image 1 unless one was sent)."""
        p, request = self._panel, entry.request
        urls = request.images if request.is_edit else ()
        held = entry.made_by
        with p.hold_trait_notifications():
            p.klein_model = canonical_weights(request.model)
            p.mode = "edit" if held or urls else "generate"
        if p.mode == "edit":
            if held is not None:
                self.tray.replace(list(held.references))
                p.size_as_reference = not held.sized
            else:
                self.tray.clear()
                for n, url in enumerate(urls, 1):
                    self.tray.add_url(url, label=f"reference {n} of image #{entry.number}")
                p.size_as_reference = request.width is None
            n = len(self.tray)
            self._note(f"Restored the {n} reference(s) of image #{entry.number}.", "ok")
        self.sync()
        return p.mode == "edit"
