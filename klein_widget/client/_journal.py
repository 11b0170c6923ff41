"""What the client needs from the layers above it, as protocols, and who provides them.

The client imports no store and no UI (an import rule, tested in
``tests/unit/test_import_rules.py``). Three things it needs live up there: the journal that
keeps every paid task (the gallery), the progress bar of a batch, and a way to ask a person
before a costly batch. The client names them here as protocols; the composition root
(``klein_widget/__init__.py``, which runs before any module of ``klein_widget.client`` can
load) installs the real providers with `install`, each importing its piece on first use.
What a client journals to is its ``journal=`` (explicit, e.g. the session) or what its
``gallery=`` names (default: the default gallery); it shows in the client's repr. Without a
provider (this module used alone) a client keeps no journal, shows no bar and never asks.

Example:
    >>> journal_for(False) is None
    True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Union

if TYPE_CHECKING:
    from klein_widget.client._generation import Generation
    from klein_widget.client._models import GenerationRequest, Prediction

__all__ = [
    "Bar",
    "GalleryOption",
    "Journal",
    "NoBar",
    "Providers",
    "ask",
    "install",
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
JournalPlace = Union[str, "os.PathLike[str]", bool]  # what the installed opener resolves


class NoBar:
    """A bar that shows nothing."""

    def update(self, *, done: int, failed: int, skipped: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Providers:
    """The providers installed by the composition root (defaults: none)."""

    open_journal: Callable[[JournalPlace], Journal | None] = lambda place: None
    progress_bar: Callable[[int, bool | None, str], Bar] = lambda total, enabled, label: NoBar()
    ask: Callable[[str], str | None] = lambda question: None


_PROVIDERS = Providers()


def install(providers: Providers) -> None:
    """Install the real providers (called once, by ``klein_widget/__init__.py``)."""
    global _PROVIDERS
    _PROVIDERS = providers


def journal_for(option: GalleryOption) -> Journal | None:
    """The journal a ``gallery=`` option names (None when off or nothing is installed)."""
    if option is None or option is False:
        return None
    if isinstance(option, str | os.PathLike | bool):
        return _PROVIDERS.open_journal(option)
    return option  # already a journal


def progress_bar(total: int, *, enabled: bool | None, label: str) -> Bar:
    """A progress bar for ``total`` items (``enabled``: None automatic, False none)."""
    return NoBar() if enabled is False else _PROVIDERS.progress_bar(total, enabled, label)


def ask(question: str) -> str | None:
    """Ask a person and return the answer, or None when nobody can answer."""
    return _PROVIDERS.ask(question)
