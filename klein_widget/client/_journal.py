"""What the client needs from the layers above it, as protocols, and where each comes from.

The client builds on nothing above it (an import rule, tested in
``tests/unit/test_import_rules.py``) but for three lazy edges, all here: the journal that
keeps every paid task (the store's gallery, opened by `journal_for`), the progress bar of a
batch and the question before a costly batch (the UI's, `progress_bar` and `ask`). Each is
imported when first used, so a client that is given ``gallery=False`` (or its own
``journal=``) and no bar never loads the store or the UI. No registry, nothing installed:
what a client journals to is its ``journal=`` (explicit, e.g. the session's gallery) or
what its ``gallery=`` names (default: the default gallery); its repr shows it.

Example:
    >>> journal_for(False) is None
    True
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol, Union

if TYPE_CHECKING:
    from klein_widget.client._generation import Generation
    from klein_widget.client._models import GenerationRequest, Prediction

__all__ = [
    "Bar",
    "GalleryOption",
    "Journal",
    "NoBar",
    "ask",
    "journal_for",
    "progress_bar",
]


class Journal(Protocol):
    """Where a client records tasks, so nothing paid for is lost (the gallery implements it)."""

    def task_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        """The server accepted ``request`` as ``prediction.id``: it may now be billed."""

    def task_completed(self, generation: Generation) -> Generation:
        """The image is here; store it and return the generation (with ``path`` set)."""

    def task_failed(self, task_id: str, reason: str) -> None:
        """The task ended without an image: never fetch it again."""

    def task_attempted(self, task_id: str, reason: str) -> None:
        """Fetching the task went nowhere this time (it may be given up after a few)."""

    def stored(self, request: GenerationRequest, *, real_only: bool = False) -> Generation | None:
        """An image already made for exactly this request's recipe (`recipe_key`), a real
        one preferred; ``real_only``: never a simulated (or unknown) stand-in."""

    def unfinished_task(self, request: GenerationRequest, origin: str) -> str | None:
        """The id of a paid task for this request at ``origin`` whose image never arrived."""


class Bar(Protocol):
    """What a batch reports its progress to."""

    def update(self, *, done: int, failed: int, skipped: int) -> None:
        """``done`` counts every finished item (generated, skipped or failed)."""

    def note(self, text: str) -> None:
        """Show a passing note (a rate limit's countdown)."""

    def close(self) -> None:
        """The batch is over."""


# A client's ``gallery=`` option: a journal, a folder, True (the default place) or off.
GalleryOption = Union["Journal", str, "os.PathLike[str]", bool, None]


class NoBar:
    """A bar that shows nothing."""

    def update(self, *, done: int, failed: int, skipped: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def journal_for(option: GalleryOption) -> Journal | None:
    """The journal a ``gallery=`` option names (None when off)."""
    if option is None or option is False:
        return None
    if isinstance(option, str | os.PathLike | bool):
        from klein_widget.store._place import resolve_gallery

        return resolve_gallery(option)
    return option  # already a journal


def progress_bar(total: int, *, enabled: bool | None, label: str) -> Bar:
    """A progress bar for ``total`` items (``enabled``: None automatic, False none)."""
    if enabled is False:
        return NoBar()
    from klein_widget.ui._progress import progress_bar as shown_bar

    return shown_bar(total, enabled=enabled, label=label)


def ask(question: str) -> str | None:
    """Ask a person and return the answer, or None when nobody can answer."""
    from klein_widget.ui._progress import ask as ask_here

    return ask_here(question)
