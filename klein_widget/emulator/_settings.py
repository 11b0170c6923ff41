"""The emulator's settings, declared once: names, types, defaults, meaning and checks.

`create_app(**knobs)`, `start(**knobs)`, ``Emulator(**knobs)`` and
`Emulator.configure(**knobs)` all take these names and check them here, so a new knob
is one field of `Settings`. Type checkers and IDEs see the same names through `Knobs`
(and `LiveKnobs`, `StartKnobs`): typed dicts for ``**knobs`` (PEP 692) that a test holds
equal to `Settings`' and `Faults`' fields, so the dataclass stays the one list.

Example:
    >>> Settings(tier="silver").resolved().concurrency
    300
    >>> Settings(inference_time=-1)
    Traceback (most recent call last):
    ...
    ValueError: inference_time must be a number >= 0, not -1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import TypedDict, cast

from klein_widget.emulator._faults import Faults, SyncStyle
from klein_widget.store._pack import LessonPack

__all__ = [
    "CONFIGURABLE",
    "TIERS",
    "FaultRates",
    "Knobs",
    "LiveKnobs",
    "Settings",
    "StartKnobs",
    "Tier",
]


@dataclass(frozen=True)
class Tier:
    """One of WaveSpeed's public account tiers: images per minute and tasks at once."""

    rate_limit: int
    concurrency: int


TIERS: dict[str, Tier] = {
    # WaveSpeed's account-level limits (see WAVESPEED_API.md); over-concurrency tasks queue.
    "bronze": Tier(rate_limit=2, concurrency=2),
    "silver": Tier(rate_limit=500, concurrency=300),
    "gold": Tier(rate_limit=3000, concurrency=3000),
    "ultra": Tier(rate_limit=5000, concurrency=10000),
}


@dataclass(frozen=True)
class Settings:
    """Every knob of an emulator, validated on construction (`ValueError` naming the knob)."""

    inference_time: float = 0.6
    """Seconds a task spends ``processing``."""
    api_key: str | None = None
    """If set, only ``Bearer <api_key>`` is accepted; otherwise any non-empty key."""
    concurrency: int | None = None
    """Tasks processed at once; more wait in ``created``. None: no limit."""
    rate_limit: int | None = None
    """Image submissions allowed per ``rate_window``; None: no limit."""
    faults: Faults | None = None
    """Fault rates (see `klein_widget.emulator._faults`); None: none."""
    seed: int = 0
    """Seeds the fault dice (not settable by `Emulator.configure`)."""
    sync_timeout: float | None = None
    """Longest a sync-mode POST waits before answering a timeout; None: no limit."""
    queue_time: float = 0.0
    """Seconds every task spends ``created`` before it may start."""
    rate_window: float = 60.0
    """The window ``rate_limit`` counts in, in seconds."""
    max_body_bytes: int = 1 << 20
    """The largest JSON body accepted."""
    network_delay: float = 0.0
    """Seconds of network round trip added to every request (half each way; see
    `klein_widget.emulator._http`)."""
    connection_round_trips: int = 0
    """Extra round trips the first request on a new connection pays (1: TCP's handshake;
    2: TCP + TLS 1.3). Only over a server, where connections exist."""
    tier: str | None = None
    """A WaveSpeed account tier: sets ``rate_limit`` and ``concurrency`` to its own,
    unless they are given too (see `resolved`)."""

    def __post_init__(self) -> None:
        _number("inference_time", self.inference_time, 0)
        _number("queue_time", self.queue_time, 0)
        _number("sync_timeout", self.sync_timeout, 0, allow_none=True)
        _number("rate_window", self.rate_window, 0.001)
        _number("concurrency", self.concurrency, 1, allow_none=True)
        _number("rate_limit", self.rate_limit, 1, allow_none=True)
        _number("max_body_bytes", self.max_body_bytes, 1)
        _number("network_delay", self.network_delay, 0)
        trips = self.connection_round_trips
        if isinstance(trips, bool) or not isinstance(trips, int) or trips < 0:
            raise ValueError(f"connection_round_trips must be a whole number >= 0, not {trips!r}")
        if self.tier is not None and self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)} or None, not {self.tier!r}")
        if self.faults is not None and not isinstance(self.faults, Faults):
            raise ValueError(f"faults must be a Faults instance, not {self.faults!r}")

    def resolved(self) -> Settings:
        """These settings with the tier's limits filled in where none were given."""
        if self.tier is None:
            return self
        tier = TIERS[self.tier]
        return dataclasses.replace(
            self,
            rate_limit=tier.rate_limit if self.rate_limit is None else self.rate_limit,
            concurrency=tier.concurrency if self.concurrency is None else self.concurrency,
        )

    @classmethod
    def of(cls, settings: Settings | None, knobs: Mapping[str, object]) -> Settings:
        """``settings`` (or the defaults) with ``knobs`` replaced; unknown names are a
        `ValueError` naming them (callers that are not type-checked pass any name).

        Example:
            >>> Settings.of(None, {"concurrency": 2}).concurrency
            2
        """
        unknown = set(knobs) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown emulator knob(s): {', '.join(sorted(unknown))}")
        # The names are checked here and the values by `__post_init__`: a `Knobs` now.
        return dataclasses.replace(settings or cls(), **cast(Knobs, knobs))


CONFIGURABLE = frozenset(f.name for f in dataclasses.fields(Settings)) - {"seed"}
"""The knobs `Emulator.configure` changes on a live emulator."""


# ``**knobs`` as type checkers see them. Python cannot derive a typed dict from a dataclass,
# so these repeat `Settings`' and `Faults`' names and types; tests/emulator/test_settings.py
# fails if they drift apart (the dataclasses stay the rule: defaults, meaning, checks).


class LiveKnobs(TypedDict, total=False):
    """`Settings`' fields a live emulator changes (`Emulator.configure`): all but ``seed``."""

    inference_time: float
    api_key: str | None
    concurrency: int | None
    rate_limit: int | None
    faults: Faults | None
    sync_timeout: float | None
    queue_time: float
    rate_window: float
    max_body_bytes: int
    network_delay: float
    connection_round_trips: int
    tier: str | None


class Knobs(LiveKnobs, total=False):
    """Every field of `Settings` by name: ``create_app(**knobs)``, ``Emulator(**knobs)``."""

    seed: int


class FaultRates(TypedDict, total=False):
    """The fields of `Faults` by name (``fail_rate=0.2``), which `start` gathers."""

    result_error_rate: float
    result_error_status: int
    drop_rate: float
    fail_rate: float
    sync_timeout_rate: float
    sync_timeout_style: SyncStyle
    nsfw_rate: float


class StartKnobs(Knobs, FaultRates, total=False):
    """What `start` and ``klein_widget.use_emulator`` take: every knob, the fault rates by
    name, and `create_app`'s ``packs`` and ``simulated``."""

    packs: Sequence[LessonPack | str | PathLike[str]]
    simulated: bool


def gather_faults(knobs: Mapping[str, object]) -> dict[str, object]:
    """``knobs`` with `Faults` fields given by name (``fail_rate=...``) moved into ``faults``
    (over the ``faults`` given, if any).

    Example:
        >>> gather_faults({"fail_rate": 0.5, "seed": 3})["faults"].fail_rate
        0.5
    """
    names = {f.name for f in dataclasses.fields(Faults)}
    gathered = {name: value for name, value in knobs.items() if name not in names}
    rates = {name: value for name, value in knobs.items() if name in names}
    base = knobs.get("faults")
    if rates and (base is None or isinstance(base, Faults)):  # else `Settings` refuses it
        # Only `Faults`' names, whose values its `__post_init__` checks: a `FaultRates`.
        gathered["faults"] = dataclasses.replace(base or Faults(), **cast(FaultRates, rates))
    return gathered


def _number(name: str, value: object, low: float, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be a number >= {low}{none}, not {value!r}")
