"""The lesson packs attached to this process: by `attach_pack` (``klein_widget.use_pack``,
``%klein --pack``) and by ``$KLEIN_PACKS`` (paths separated by `os.pathsep`).

Every gallery that was not given its own ``packs=`` consults these after its own index,
in `Gallery.stored`: the one lookup behind free re-runs and lesson packs.

Process-wide by decision (docs/ARCHITECTURE.md, "Process-wide state"): attaching a pack
reaches every client of the process, a ``KleinClient()`` made later included, as
``$KLEIN_PACKS`` does; kept on the session it would miss the clients the session did not make.

Example:
    >>> pack = attach_pack("lesson-02.zip")  # doctest: +SKIP
    >>> attached_packs()  # doctest: +SKIP
    [LessonPack('/home/me/lesson-02.zip', 24 images)]
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest, Prediction
from klein_widget.store._pack import LessonPack, PackError, open_pack

__all__ = [
    "PACKS_ENV",
    "PacksOnly",
    "attach_pack",
    "attached_packs",
    "detach_packs",
    "stored_in_packs",
]

PACKS_ENV = "KLEIN_PACKS"

_LOCK = threading.Lock()
_ATTACHED: list[LessonPack] = []


def attach_pack(pack: LessonPack | str | PathLike[str]) -> LessonPack:
    """Attach a pack (opened and fully checked first) to every gallery of this process.

    Attaching the same path again replaces it (a new copy of the pack is read again).

    Example:
        >>> attach_pack("lesson-02.zip")  # doctest: +SKIP
        LessonPack('/home/me/lesson-02.zip', 24 images)
    """
    opened = pack if isinstance(pack, LessonPack) else open_pack(pack, verify=True)
    with _LOCK:
        _ATTACHED[:] = [p for p in _ATTACHED if p.path != opened.path] + [opened]
    return opened


def detach_packs() -> None:
    """Detach every pack attached by `attach_pack` (``$KLEIN_PACKS`` still applies)."""
    with _LOCK:
        _ATTACHED.clear()


@functools.lru_cache(maxsize=1)  # read again only when $KLEIN_PACKS changes
def _packs_named(value: str) -> tuple[LessonPack, ...]:
    packs = []
    for part in value.split(os.pathsep):
        if part.strip():
            try:
                packs.append(open_pack(Path(part.strip()), verify=True))
            except PackError as error:
                raise PackError(f"${PACKS_ENV} names a pack that cannot be used. {error}") from None
    return tuple(packs)


def attached_packs() -> list[LessonPack]:
    """The packs every gallery consults: ``$KLEIN_PACKS``'s first, then attached ones."""
    env = _packs_named(os.environ.get(PACKS_ENV, "").strip())
    with _LOCK:
        return list(env) + [p for p in _ATTACHED if p.path not in {e.path for e in env}]


def stored_in_packs(
    packs: Sequence[LessonPack] | None, request: GenerationRequest, *, real_only: bool = False
) -> Generation | None:
    """The first pack's image for exactly this request (``packs``: None means attached ones),
    a real image before a stand-in (``real_only``: never a stand-in).

    Example:
        >>> stored_in_packs([], request) is None  # doctest: +SKIP
        True
    """
    stand_in = None
    for pack in attached_packs() if packs is None else packs:
        found = pack.stored(request)
        if found is not None and not found.simulated:
            return found
        stand_in = stand_in or found
    return None if real_only else stand_in


class PacksOnly:
    """A journal that keeps nothing and answers free re-runs from the attached packs: what
    the session's clients journal to when its gallery is off (a lesson pack still answers).

    Example:
        >>> PacksOnly().unfinished_task(request, "https://api.wavespeed.ai")  # doctest: +SKIP
    """

    def __repr__(self) -> str:
        return "PacksOnly()"

    def task_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        """Nothing is kept."""

    def task_completed(self, generation: Generation) -> Generation:
        """Nothing is kept: the image is returned as it is."""
        return generation

    def task_failed(self, task_id: str, reason: str) -> None:
        """Nothing is kept."""

    def task_attempted(self, task_id: str, reason: str) -> None:
        """Nothing is kept."""

    def stored(self, request: GenerationRequest, *, real_only: bool = False) -> Generation | None:
        """The attached packs' image for exactly this request (`stored_in_packs`)."""
        return stored_in_packs(None, request, real_only=real_only)

    def unfinished_task(self, request: GenerationRequest, origin: str) -> str | None:
        """None: nothing paid is kept here."""
        return None
