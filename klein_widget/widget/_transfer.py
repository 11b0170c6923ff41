"""Each image crosses the comm once: the page keeps what it received, keyed by content.

The panel's ``image`` trait is not synced: the page learns only ``image_key`` (a hash of
the bytes shown). A new image's bytes are pushed once, as the binary buffer of an
``{"type": "image"}`` message sent just before the key changes; restoring it later
changes only the key, and the page shows it from its own store. A page that lacks the
key (a view opened later, a reload, an image it evicted) asks with ``{"type": "want"}``
and gets the bytes of the image shown, and only those.

Example:
    >>> sent = []
    >>> transfer = ImageTransfer(lambda content, buffers: sent.append(content["key"]))
    >>> key = transfer.show(b"png bytes", "png")
    >>> transfer.show(b"png bytes", "png") == key, len(sent)
    (True, 1)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["PUSHED_KEYS", "ImageTransfer", "image_key"]

PUSHED_KEYS = 256  # keys remembered as pushed (the page keeps fewer images; it asks again)

Send = Callable[[dict[str, Any], list[bytes]], None]


def image_key(data: bytes) -> str:
    """The stable id of an image: a hash of its bytes (same bytes, same key).

    Example:
        >>> len(image_key(b"x"))
        24
    """
    return hashlib.blake2b(data, digest_size=12).hexdigest()


class ImageTransfer:
    """Sends image bytes to the page only when it cannot already hold them."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._pushed: OrderedDict[str, None] = OrderedDict()
        self._current: tuple[str, bytes, str] | None = None
        self.transfers = 0  # images sent over the comm
        self.bytes_sent = 0

    def show(self, data: bytes, fmt: str) -> str:
        """Make ``data`` the image shown; push it unless it was pushed before. Returns
        its key (set it as ``image_key`` after this call, so the bytes arrive first)."""
        key = image_key(data)
        self._current = (key, data, fmt)
        if key in self._pushed:
            self._pushed.move_to_end(key)
        else:
            self._push(key, data, fmt)
        return key

    def want(self, key: str) -> bool:
        """The page lacks ``key``: send it if it is the image shown; True if sent."""
        if self._current is None or self._current[0] != key:
            return False  # the page will ask for the newer key it is told about
        self._push(*self._current)
        return True

    def _push(self, key: str, data: bytes, fmt: str) -> None:
        self._send({"type": "image", "key": key, "format": fmt}, [data])
        self.transfers += 1
        self.bytes_sent += len(data)
        self._pushed[key] = None
        self._pushed.move_to_end(key)
        while len(self._pushed) > PUSHED_KEYS:
            self._pushed.popitem(last=False)
