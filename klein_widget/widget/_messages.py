"""What the panel's front end asks for: small messages such as ``{"type": "generate"}``.

Each calls one public method of `KleinPanel`, so a test (or a user) doing the same from
Python gets the same result as a click in the page. ipykernel 7 may deliver a widget's
messages on another thread with its own event loop (a subshell); the work hops to the
kernel's loop the panel was made on, so its tasks, its client and its traits stay there.

Every message gets an ``{"type": "ack"}`` back (a ``"ping"`` gets only that), so the
page knows its kernel is there; panel.js says the kernel is lost when a click gets none.

Example:
    >>> handle_message(panel, {"type": "preset", "name": "16:9"})  # doctest: +SKIP
    >>> (panel.width, panel.height)  # doctest: +SKIP
    (1024, 576)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import RANDOM_SEED
from klein_widget.ui._sizes import ASPECT_PRESETS
from klein_widget.ui._text import error_text
from klein_widget.widget._jobs import call_home

if TYPE_CHECKING:
    from klein_widget.widget._widget import KleinPanel

__all__ = ["handle_message"]

_FIELDS = ("prompt", "width", "height", "seed", "fresh", "klein_model", "mode")


def generate_from(panel: KleinPanel, content: dict[str, Any]) -> None:
    """Generate with the values the page sent along (its state updates may lag behind)."""
    # An edit "as reference" has the size Python set from image 1: a page that has not
    # heard it yet must not turn it into a size of its own.
    as_reference = content.get("mode", panel.mode) == "edit" and panel.size_as_reference
    try:
        with panel.hold_trait_notifications():
            for name in _FIELDS:
                if as_reference and name in ("width", "height"):
                    continue
                if name in content:
                    setattr(panel, name, content[name])
    except InvalidRequestError as error:
        panel.status_line.add(error_text(error), "error")
        panel.refresh()
        return
    panel.generate()


def add_reference(panel: KleinPanel, content: dict[str, Any], buffers: list[bytes]) -> None:
    """An image from the page (a file, a drop, a paste): its bytes are the one buffer."""
    name = str(content.get("name", ""))[:200]
    if len(buffers) != 1:
        panel.edits.refuse(f"{name or 'The image'} did not arrive: add it again.")
        return
    panel.edits.add_bytes(buffers[0], name)


def hello(panel: KleinPanel) -> None:
    """A view opened: it gets every thumbnail (the history's and the tray's)."""
    panel.shower.send_thumbnails()
    panel.edits.send_thumbnails()


def _step(content: dict[str, Any]) -> int:
    return -1 if content.get("by") == -1 else 1


def handle_message(panel: KleinPanel, content: Any, buffers: Sequence[Any] = ()) -> None:
    """Do what the front end asked, on the panel's loop; unknown messages are ignored.
    ``buffers``: an ``add_reference``'s image bytes (the only message that has any)."""
    data = [bytes(b) for b in buffers or ()]  # the comm may reuse its memoryviews
    call_home(panel.home_loop, _handle, panel, content, data)


def _handle(panel: KleinPanel, content: Any, buffers: list[bytes]) -> None:
    if not isinstance(content, dict):
        return
    # Every message is answered at once: a page that hears nothing back within a few
    # seconds says its kernel is busy or gone (a restart) instead of looking alive.
    panel.send({"type": "ack"})
    kind = content.get("type")
    actions: dict[str, Callable[[], object]] = {
        "generate": lambda: generate_from(panel, content),
        "retry": panel.retry,
        "cancel": lambda: panel.cancel(content.get("job")),
        "enhance": panel.enhance,
        "undo": panel.undo_enhance,
        "swap": panel.swap,
        "random_seed": lambda: setattr(panel, "seed", RANDOM_SEED),
        "reuse_seed": panel.reuse_seed,
        "restore": lambda: panel.restore(str(content.get("id", ""))),
        "hello": lambda: hello(panel),
        "add_reference": lambda: add_reference(panel, content, buffers),
        "edit_this": lambda: panel.edits.add_entry(str(content.get("id", ""))),
        "remove_reference": lambda: panel.edits.remove(str(content.get("key", ""))),
        "move_reference": lambda: panel.edits.move(str(content.get("key", "")), _step(content)),
        "size_reference": panel.edits.as_reference,
        "want": lambda: panel.shower.transfer.want(str(content.get("key", ""))),
    }
    if kind == "preset" and content.get("name") in ASPECT_PRESETS:
        panel.apply_preset(content["name"])
    elif kind in actions:
        actions[kind]()
