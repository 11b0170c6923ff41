"""Where the gallery lives: one rule for every door.

``gallery=`` (a folder, a `Gallery`, or off) wins; else ``$KLEIN_GALLERY`` (a folder, or
``off``); else, in a notebook, ``./klein-outputs`` beside the notebook, where its user
looks; else (scripts, the ``klein`` CLI) the platform's user data folder, e.g.
``~/.local/share/klein-widget/gallery`` on Linux, so a script run from anywhere neither
litters that folder nor loses track of what it paid for.

"In a notebook" is what the caller says (``runs_in="notebook"`` or ``"script"``), else
`where_running`: this process is a running Jupyter kernel (ipykernel's kernel app is
initialised: JupyterLab, Notebook, VS Code, Colab, Voila) or a marimo notebook. Merely
having ipykernel or marimo imported, as a script may, does not count.

Every call opens its own `Gallery` for its caller to keep (a client, the session): no
cache of galleries lives here. Several on one folder share it as two kernels do, through
the SQLite index (WAL) and the files.

Example:
    >>> resolve_gallery(False) is None
    True
    >>> str(default_folder("notebook"))
    'klein-outputs'
"""

from __future__ import annotations

import os
import sys
from os import PathLike
from pathlib import Path
from typing import Literal, Union

import platformdirs

from klein_widget.store._gallery import Gallery

__all__ = [
    "DEFAULT_FOLDER",
    "GALLERY_ENV",
    "GalleryOption",
    "RunsIn",
    "default_folder",
    "resolve_gallery",
    "where_running",
]

DEFAULT_FOLDER = "klein-outputs"
GALLERY_ENV = "KLEIN_GALLERY"
_OFF_WORDS = frozenset({"off", "none", "false", "no", "0"})

GalleryOption = Union[Gallery, str, "PathLike[str]", bool, None]
"""What ``gallery=`` accepts: a folder, a `Gallery`, False/None (off), True (the default)."""

RunsIn = Literal["notebook", "script"]
"""Where the caller runs, which decides the default folder."""


def where_running() -> RunsIn:
    """``"notebook"`` if this process is a running Jupyter kernel or marimo notebook, else
    ``"script"``. Imports nothing: a kernel or marimo has loaded its modules already.

    Example:
        >>> where_running()  # in a script or a test run
        'script'
    """
    kernel_app = sys.modules.get("ipykernel.kernelapp")
    if kernel_app is not None and kernel_app.IPKernelApp.initialized():
        return "notebook"
    marimo = sys.modules.get("marimo")
    if marimo is not None and marimo.running_in_notebook():
        return "notebook"
    return "script"


def default_folder(runs_in: RunsIn | None = None) -> Path:
    """Where the gallery goes when nothing says otherwise: ``./klein-outputs`` for a
    notebook, the user data folder for a script (``runs_in``; None: `where_running`).

    Example:
        >>> default_folder("script").name
        'gallery'
    """
    if (runs_in or where_running()) == "notebook":
        return Path(DEFAULT_FOLDER)
    return platformdirs.user_data_path("klein-widget") / "gallery"


def resolve_gallery(
    option: GalleryOption = True, *, runs_in: RunsIn | None = None
) -> Gallery | None:
    """Turn a ``gallery=`` option into a `Gallery` (a new one, for the caller to keep) or
    None (off).

    True means the default: ``$KLEIN_GALLERY`` (a folder, or ``off``), else
    `default_folder` for where the caller ``runs_in``. A string ``"off"`` turns it off too.

    Example:
        >>> resolve_gallery("off") is None
        True
    """
    if isinstance(option, Gallery):
        return option
    if option is None or option is False:
        return None
    if option is True:
        option = os.environ.get(GALLERY_ENV, "").strip() or default_folder(runs_in)
    if isinstance(option, str) and option.strip().lower() in _OFF_WORDS:
        return None
    return Gallery(option)
