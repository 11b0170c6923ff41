"""Where the gallery lives: one rule for every door.

``gallery=`` (a folder, a `Gallery`, or off) wins; else ``$KLEIN_GALLERY`` (a folder, or
``off``); else ``./klein-outputs`` beside the notebook or script.

Example:
    >>> resolve_gallery(False) is None
    True
"""

from __future__ import annotations

import os
import threading
from os import PathLike
from pathlib import Path
from typing import Union

from klein_widget.store._gallery import Gallery

__all__ = ["DEFAULT_FOLDER", "GALLERY_ENV", "GalleryOption", "resolve_gallery"]

DEFAULT_FOLDER = "klein-outputs"
GALLERY_ENV = "KLEIN_GALLERY"
_OFF_WORDS = frozenset({"off", "none", "false", "no", "0"})

GalleryOption = Union[Gallery, str, "PathLike[str]", bool, None]
"""What ``gallery=`` accepts: a folder, a `Gallery`, False/None (off), True (the default)."""

_GALLERIES: dict[Path, Gallery] = {}
_GALLERIES_LOCK = threading.Lock()


def _shared(path: str | PathLike[str]) -> Gallery:
    # One instance per folder, so schema setup and write locks are per folder.
    key = Path(path).expanduser().absolute()
    with _GALLERIES_LOCK:
        if key not in _GALLERIES:
            _GALLERIES[key] = Gallery(key)
        return _GALLERIES[key]


def resolve_gallery(option: GalleryOption = True) -> Gallery | None:
    """Turn a ``gallery=`` option into a `Gallery` or None (off).

    True means the default: ``$KLEIN_GALLERY`` (a folder, or ``off``), else
    ``./klein-outputs``. A string ``"off"`` turns it off too.

    Example:
        >>> resolve_gallery("off") is None
        True
    """
    if isinstance(option, Gallery):
        return option
    if option is None or option is False:
        return None
    if option is True:
        option = os.environ.get(GALLERY_ENV, "").strip() or DEFAULT_FOLDER
    if isinstance(option, str) and option.strip().lower() in _OFF_WORDS:
        return None
    return _shared(option)
