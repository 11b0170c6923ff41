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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import RANDOM_SEED
from klein_widget.ui._sizes import ASPECT_PRESETS
from klein_widget.ui._text import error_text
from klein_widget.widget._jobs import running_loop

if TYPE_CHECKING:
    from klein_widget.widget._widget import KleinPanel

__all__ = ["handle_message"]

_FIELDS = ("prompt", "width", "height", "seed", "fresh")


def generate_from(panel: KleinPanel, content: dict[str, Any]) -> None:
    """Generate with the values the page sent along (its state updates may lag behind)."""
    try:
        with panel.hold_trait_notifications():
            for name in _FIELDS:
                if name in content:
                    setattr(panel, name, content[name])
    except InvalidRequestError as error:
        panel.status_line.add(error_text(error), "error")
        panel.refresh()
        return
    panel.generate()


def handle_message(panel: KleinPanel, content: Any) -> None:
    """Do what the front end asked, on the panel's loop; unknown messages are ignored."""
    home = panel.home_loop
    if home is not None and not home.is_closed() and running_loop() is not home:
        home.call_soon_threadsafe(_handle, panel, content)
    else:
        _handle(panel, content)


def _handle(panel: KleinPanel, content: Any) -> None:
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
        "hello": panel.shower.send_thumbnails,
        "want": lambda: panel.shower.transfer.want(str(content.get("key", ""))),
    }
    if kind == "preset" and content.get("name") in ASPECT_PRESETS:
        panel.apply_preset(content["name"])
    elif kind in actions:
        actions[kind]()
