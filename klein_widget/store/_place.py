"""Where the gallery lives: one rule for every door.

``gallery=`` (a folder, a `Gallery`, or off) wins; else ``$KLEIN_GALLERY`` (a folder, or
``off``); else, in a notebook (a Jupyter kernel or marimo), ``./klein-outputs`` beside the
notebook, where its user looks; else (scripts, the ``klein`` CLI) the platform's user data
folder, e.g. ``~/.local/share/klein-widget/gallery`` on Linux, so a script run from
anywhere neither litters that folder nor loses track of what it paid for.

Example:
    >>> resolve_gallery(False) is None
    True
"""

from __future__ import annotations

import os
import sys
import threading
from os import PathLike
from pathlib import Path
from typing import Union

import platformdirs

from klein_widget.store._gallery import Gallery

__all__ = ["DEFAULT_FOLDER", "GALLERY_ENV", "GalleryOption", "default_folder", "resolve_gallery"]

DEFAULT_FOLDER = "klein-outputs"
GALLERY_ENV = "KLEIN_GALLERY"
_OFF_WORDS = frozenset({"off", "none", "false", "no", "0"})

GalleryOption = Union[Gallery, str, "PathLike[str]", bool, None]
"""What ``gallery=`` accepts: a folder, a `Gallery`, False/None (off), True (the default)."""

_GALLERIES: dict[Path, Gallery] = {}
_GALLERIES_LOCK = threading.Lock()


def default_folder() -> Path:
    """Where the gallery goes when nothing says otherwise (see the rule above).

    Example:
        >>> default_folder().name in ("klein-outputs", "gallery")
        True
    """
    if "ipykernel" in sys.modules or "marimo" in sys.modules:  # imported only in notebooks
        return Path(DEFAULT_FOLDER)
    return platformdirs.user_data_path("klein-widget") / "gallery"


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
    `default_folder`. A string ``"off"`` turns it off too.

    Example:
        >>> resolve_gallery("off") is None
        True
    """
    if isinstance(option, Gallery):
        return option
    if option is None or option is False:
        return None
    if option is True:
        option = os.environ.get(GALLERY_ENV, "").strip() or default_folder()
    if isinstance(option, str) and option.strip().lower() in _OFF_WORDS:
        return None
    return _shared(option)
