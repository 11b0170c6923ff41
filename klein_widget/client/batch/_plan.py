"""The pure half of `generate_many`: validate a batch, draw its seeds, drop duplicates,
find what the gallery already has (or an earlier run already paid for), price the rest,
and ask before spending more than ``confirm_over``. No I/O: the journal's look-ups and
the question are passed in or installed (`klein_widget.client._journal`).

Example:
    >>> plan = plan_batch(build_requests(["a fox", "a cat", "a fox"], seed=1))
    >>> len(plan.jobs), plan.cost
    (2, 0.016)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

from klein_widget.client._exceptions import BudgetExceededError, InvalidRequestError, KleinError
from klein_widget.client._generation import Generation
from klein_widget.client._journal import ask
from klein_widget.client._ledger import money
from klein_widget.client._metadata import strip_params
from klein_widget.client._models import (
    DEFAULT_SIDE,
    RANDOM_SEED,
    GenerationRequest,
)

if TYPE_CHECKING:
    import random

__all__ = [
    "DEFAULT_CONFIRM_OVER",
    "KEEP_IMAGES_UP_TO",
    "BatchItem",
    "BatchResult",
    "Job",
    "Plan",
    "build_requests",
    "check_cost",
    "keeps_in_memory",
    "plan_batch",
]

DEFAULT_CONFIRM_OVER = 1.00  # dollars: ask before spending more than this in one batch
# A batch of more images than this keeps them in the gallery and reads each back on
# access (10,000 images at 256x256 held ~1 GB); smaller ones keep them in memory.
KEEP_IMAGES_UP_TO = 256


def keeps_in_memory(keep_images: bool | None, images: int) -> bool:
    """Does a batch of ``images`` hold its images in memory (``keep_images=`` option)?

    Example:
        >>> keeps_in_memory(None, 12), keeps_in_memory(None, 10_000), keeps_in_memory(True, 10_000)
        (True, False, True)
    """
    return keep_images if keep_images is not None else images <= KEEP_IMAGES_UP_TO


@dataclass
class BatchItem:
    """One input of a batch: its request (seed concrete) and its image or its error.

    A large batch keeps its images in the gallery, not in memory: ``generation.image``
    is then read back from the file (parameters stripped: the bytes as served) on access.
    """

    index: int
    request: GenerationRequest
    error: BaseException | None = None
    skipped: bool = False  # already in the gallery: loaded from disk, nothing was sent
    resumed: bool = False  # paid for by an earlier run, fetched now, not submitted again
    _kept: Generation | None = field(default=None, repr=False)
    _on_disk: bool = field(default=False, repr=False)  # image read from _kept.path on access

    @property
    def ok(self) -> bool:
        """True if the item has its image."""
        return self._kept is not None

    @property
    def generation(self) -> Generation | None:
        """The image and everything needed to make it again (None if the item failed)."""
        if self._kept is None or not self._on_disk or self._kept.path is None:
            return self._kept
        try:
            image = strip_params(self._kept.path.read_bytes())
        except OSError as error:
            raise KleinError(
                f"Batch item {self.index}'s image was kept in the gallery, not in memory, "
                f"and reading it back failed ({error}). Pass keep_images=True to hold "
                "every image in memory."
            ) from None
        return dataclasses.replace(self._kept, image=image)

    def keep(self, generation: Generation, *, in_memory: bool) -> None:
        """Hold ``generation``; unless ``in_memory``, only its path when the gallery has it."""
        on_disk = not in_memory and generation.path is not None
        self._kept = dataclasses.replace(generation, image=b"") if on_disk else generation
        self._on_disk = on_disk


class BatchResult(Sequence[BatchItem]):
    """Per-item results of `generate_many`, in input order; one failure loses nothing else.

    Example:
        >>> result = client.generate_many(prompts, seed=1)  # doctest: +SKIP
        >>> result.generations  # the images, in order  # doctest: +SKIP
        >>> result.errors  # [(index, exception)]  # doctest: +SKIP
    """

    def __init__(self, items: Sequence[BatchItem]) -> None:
        self.items = list(items)

    @overload
    def __getitem__(self, index: int) -> BatchItem: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[BatchItem]: ...

    def __getitem__(self, index: int | slice) -> BatchItem | Sequence[BatchItem]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BatchItem]:
        return iter(self.items)

    @property
    def generations(self) -> list[Generation]:
        """The images that are here (generated or from the gallery), in input order."""
        # One read per item: a large batch's `generation` reads its image from disk.
        return [made for item in self.items if (made := item.generation) is not None]

    @property
    def errors(self) -> list[tuple[int, BaseException]]:
        """``(input index, exception)`` for each item without an image."""
        return [(item.index, item.error) for item in self.items if item.error is not None]

    @property
    def skipped(self) -> int:
        """How many items came from the gallery instead of being generated."""
        return sum(item.skipped for item in self.items)

    def raise_for_errors(self) -> BatchResult:
        """Raise the first item's error, if any failed; else return self."""
        for _, error in self.errors:
            raise error
        return self

    def __repr__(self) -> str:
        made = sum(1 for item in self.items if item.ok and not (item.skipped or item.resumed))
        resumed = sum(1 for item in self.items if item.ok and item.resumed)
        parts = [f"{made} generated"]
        if self.skipped:
            parts.append(f"{self.skipped} from the gallery")
        if resumed:
            parts.append(f"{resumed} fetched from an earlier run")
        if self.errors:
            parts.append(f"{len(self.errors)} failed")
        return f"BatchResult({len(self)} items: {', '.join(parts)})"


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One image to make, shared by every input item with the same prompt, size and seed."""

    request: GenerationRequest
    indices: tuple[int, ...]
    task_id: str | None = None  # an earlier, paid task for it to fetch instead of submitting


@dataclass
class Plan:
    """What a batch will do: requests per input item, jobs to run, items already stored."""

    requests: list[GenerationRequest]
    jobs: list[Job]
    found: dict[int, Generation] = field(default_factory=dict)  # made before: free

    @property
    def new_jobs(self) -> int:
        """Jobs that will be submitted (and paid for)."""
        return sum(job.task_id is None for job in self.jobs)

    @property
    def cost_mills(self) -> int:
        """The price of the new jobs, in mills (exact): each at its model's price (the
        family's highest where that is unconfirmed, as a budget reserves it)."""
        return sum(job.request.klein_model.reserve_mills for job in self.jobs if not job.task_id)

    @property
    def cost(self) -> float:
        """The price of the jobs, in dollars."""
        return self.cost_mills / 1000


def build_requests(
    items: Iterable[str | GenerationRequest],
    *,
    width: int = DEFAULT_SIDE,
    height: int = DEFAULT_SIDE,
    seed: int = RANDOM_SEED,
    rng: random.Random | None = None,
) -> list[GenerationRequest]:
    """Validate every item before anything is sent and draw ``-1`` seeds here.

    Prompts get ``width``, ``height`` and ``seed``; `GenerationRequest` items keep theirs.

    Example:
        >>> [r.seed for r in build_requests(["a fox", "a cat"], seed=3)]
        [3, 3]
    """
    if isinstance(items, str | GenerationRequest):
        raise InvalidRequestError(
            "generate_many takes a list of prompts or GenerationRequest objects, e.g. "
            "generate_many(['a fox', 'a cat']); for a single image use generate().",
            field="items",
        )
    requests = []
    for index, item in enumerate(items):
        try:
            if isinstance(item, GenerationRequest):
                request = item
            else:
                request = GenerationRequest(item, width, height, seed)
        except InvalidRequestError as error:
            raise InvalidRequestError(
                f"batch item {index}: {error.message}. Nothing was sent.", field=error.field
            ) from None
        requests.append(request.with_concrete_seed(rng))
    return requests


def plan_batch(
    requests: Sequence[GenerationRequest],
    stored: Callable[[GenerationRequest], Generation | None] | None = None,
    paid: Callable[[GenerationRequest], str | None] | None = None,
) -> Plan:
    """Group items by (prompt, size, seed); those the gallery has are not generated again,
    and those already paid for but never downloaded (``paid``) are fetched, not resubmitted.

    Example:
        >>> plan = plan_batch([GenerationRequest("a fox", seed=1)] * 3)
        >>> len(plan.jobs), plan.jobs[0].indices
        (1, (0, 1, 2))
    """
    groups: dict[str, list[int]] = {}  # by recipe key
    for index, request in enumerate(requests):
        groups.setdefault(request.key, []).append(index)
    plan = Plan(list(requests), [])
    for indices in groups.values():
        request = requests[indices[0]]
        made = stored(request) if stored is not None else None
        if made is not None:
            plan.found.update(dict.fromkeys(indices, made))
            continue
        task_id = paid(request) if paid is not None else None
        plan.jobs.append(Job(request, tuple(indices), task_id))
    return plan


def check_cost(
    plan: Plan, *, confirm: bool | None, confirm_over: float | None, may_ask: bool = True
) -> None:
    """Ask before a batch costing more than ``confirm_over`` dollars; raise if not confirmed.

    ``confirm=True`` goes ahead without asking, ``confirm=False`` refuses without asking;
    with nobody to ask (no stdin, or ``may_ask=False``: async code never prompts) it
    refuses with a message saying how to go ahead.
    """
    if confirm is True or confirm_over is None or plan.cost_mills <= round(confirm_over * 1000):
        return
    n = plan.new_jobs
    others = len(plan.found) + len(plan.jobs) - n
    statement = (
        f"This batch would generate {n} new image{'s' if n != 1 else ''} for "
        f"{money(plan.cost)}, over confirm_over=${confirm_over:.2f}"
        + (f" ({others} more are already paid for or in the gallery)" if others else "")
        + "."
    )
    how = " Pass confirm=True (or a higher confirm_over) to go ahead."
    if confirm is False:
        raise BudgetExceededError(f"{statement} Nothing was sent (confirm=False).{how}")
    if not may_ask:
        raise BudgetExceededError(
            f"{statement} An awaited batch does not stop to ask, so nothing was sent.{how}"
        )
    answer = ask(f"{statement} Go ahead? [y/N] ")
    if answer is None:
        raise BudgetExceededError(
            f"{statement} There is no input to ask for confirmation, so nothing was sent.{how}"
        )
    if answer.strip().lower() not in ("y", "yes"):
        raise BudgetExceededError(f"{statement} Not confirmed, so nothing was sent.")
