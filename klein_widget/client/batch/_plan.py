"""The pure half of `generate_many`: validate a batch, draw its seeds, drop duplicates,
find what the gallery already has (or an earlier run already paid for), price the rest,
and ask before spending more than ``confirm_over``. No I/O: the journal's look-ups and
the question are passed in or asked through `klein_widget.client._journal.ask`.

Example:
    >>> plan = plan_batch(build_requests(["a fox", "a cat", "a fox"], seed=1))
    >>> len(plan.jobs), plan.cost
    (2, 0.016)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from klein_widget.client._exceptions import BudgetExceededError, InvalidRequestError
from klein_widget.client._generation import Generation
from klein_widget.client._journal import ask
from klein_widget.client._ledger import money
from klein_widget.client._models import (
    DEFAULT_SIDE,
    RANDOM_SEED,
    GenerationRequest,
)

if TYPE_CHECKING:
    import random

__all__ = [
    "DEFAULT_CONFIRM_OVER",
    "Job",
    "Plan",
    "build_requests",
    "check_cost",
    "each_item",
    "plan_batch",
]

T = TypeVar("T")

DEFAULT_CONFIRM_OVER = 1.00  # dollars: ask before spending more than this in one batch


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
    requests = each_item(items, lambda prompt: GenerationRequest(prompt, width, height, seed))
    return [request.with_concrete_seed(rng) for request in requests]


def each_item(
    items: Iterable[T | GenerationRequest], make: Callable[[T], GenerationRequest]
) -> list[GenerationRequest]:
    """Each item of a batch as a request (a `GenerationRequest` as it is, any other made by
    ``make``), validated before anything is sent; the first invalid one raises, saying
    which it is."""
    requests = []
    for index, item in enumerate(items):
        try:
            requests.append(item if isinstance(item, GenerationRequest) else make(item))
        except InvalidRequestError as error:
            raise InvalidRequestError(
                f"batch item {index}: {error.message}. Nothing was sent.", field=error.field
            ) from None
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
