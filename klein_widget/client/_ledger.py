"""Spend and budget, counted exactly in mills (thousandths of a dollar), safe under concurrency.

A submission reserves its price before it is sent, so many concurrent submissions can
never together cross ``max_spend``. The reservation is committed once the server may
have accepted the task (we count what may be billed) and released only when the server
certainly refused it. A task that then ends failed is refunded by WaveSpeed: `refund`
takes it off again (and counts it as refunded, not as an image).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from klein_widget.client._exceptions import BudgetExceededError


@dataclass(frozen=True)
class Spend:
    """What a client has spent: images made and dollars (images plus prompt enhancements)."""

    images: int
    enhancements: int
    mills: int
    reused: int = 0  # images answered from the gallery or a lesson pack, free
    saved_mills: int = 0  # what those would have cost
    simulated_mills: int = 0  # the part of ``mills`` a local emulator "charged": not billed
    refunded: int = 0  # accepted tasks that ended failed: WaveSpeed refunds them

    @property
    def dollars(self) -> float:
        """The total in dollars."""
        return self.mills / 1000

    @property
    def billed(self) -> float:
        """Dollars a real server may bill: the total without the emulator's simulated part."""
        return (self.mills - self.simulated_mills) / 1000

    @property
    def saved(self) -> float:
        """Dollars not spent thanks to images that were already made."""
        return self.saved_mills / 1000

    @property
    def price(self) -> str:
        """The total as shown: ``$0.016``, ``$0.016 simulated`` or ``$0.008 + $0.016 simulated``.

        Example:
            >>> Spend(3, 0, 24, simulated_mills=16).price
            '$0.008 + $0.016 simulated'
        """
        simulated = f"{money(self.simulated_mills / 1000)} simulated"
        if not self.simulated_mills:
            return money(self.dollars)
        return (
            simulated
            if self.mills == self.simulated_mills
            else f"{money(self.billed)} + {simulated}"
        )

    def __str__(self) -> str:
        noun = "image" if self.images == 1 else "images"
        text = f"{self.images} {noun}, {self.price}"
        if self.reused:
            text += f" ({self.reused} more from the gallery, {money(self.saved)} saved)"
        return text


def money(dollars: float) -> str:
    """Money as every door shows it: dollars to the mill (a tenth of a cent).

    Example:
        >>> money(0.008), money(1.04)
        ('$0.008', '$1.040')
    """
    return f"${dollars:.3f}"


class Ledger:
    """Thread-safe spend counter with an optional cap.

    Example:
        >>> ledger = Ledger(max_spend=0.01)
        >>> token = ledger.reserve(8, "image")
        >>> ledger.commit(token)
        >>> ledger.spend.dollars
        0.008
    """

    def __init__(self, max_spend: float | None = None) -> None:
        if max_spend is not None and max_spend < 0:
            raise ValueError("max_spend must be a positive number of dollars, or None")
        self._limit = None if max_spend is None else round(max_spend * 1000)
        self._lock = threading.Lock()
        self._committed = 0
        self._reserved = 0
        self._images = 0
        self._enhancements = 0
        self._reused = 0
        self._saved = 0
        self._simulated = 0
        self._refunded = 0

    @property
    def max_spend(self) -> float | None:
        """The cap in dollars, or None for no cap."""
        return None if self._limit is None else self._limit / 1000

    @max_spend.setter
    def max_spend(self, value: float | None) -> None:
        with self._lock:
            self._limit = None if value is None else round(value * 1000)

    @property
    def spend(self) -> Spend:
        """A snapshot of what has been spent (committed reservations)."""
        with self._lock:
            return Spend(
                self._images,
                self._enhancements,
                self._committed,
                self._reused,
                self._saved,
                self._simulated,
                self._refunded,
            )

    def reuse(self, mills: int) -> None:
        """An image was answered from what was already made: count what it saved."""
        with self._lock:
            self._reused += 1
            self._saved += mills

    def reserve(self, mills: int, kind: str) -> tuple[int, str]:
        """Hold ``mills`` for one submission, or raise `BudgetExceededError`."""
        with self._lock:
            if self._limit is not None and self._committed + self._reserved + mills > self._limit:
                held = (self._committed + self._reserved) / 1000
                raise BudgetExceededError(
                    f"This {kind} would cost {money(mills / 1000)} and take spending to "
                    f"{money(held + mills / 1000)}, over the budget of {money(self._limit / 1000)} "
                    "(max_spend). Nothing was sent. Raise max_spend to continue."
                )
            self._reserved += mills
            return (mills, kind)

    def commit(self, token: tuple[int, str], *, simulated: bool = False) -> None:
        """The server may have accepted it: count it as spent (``simulated``: by a local
        emulator, which bills nothing; kept apart so a later real bill is not mixed in)."""
        mills, kind = token
        with self._lock:
            self._reserved -= mills
            self._committed += mills
            self._simulated += mills if simulated else 0
            if kind == "image":
                self._images += 1
            else:
                self._enhancements += 1

    def refund(self, mills: int, *, simulated: bool = False) -> None:
        """An accepted image task ended failed, and WaveSpeed refunds those: take it off
        the spend and the images, and count it as refunded."""
        with self._lock:
            self._committed -= mills
            self._simulated -= mills if simulated else 0
            self._images -= 1
            self._refunded += 1

    def release(self, token: tuple[int, str]) -> None:
        """The server certainly did not take it: give the reservation back."""
        with self._lock:
            self._reserved -= token[0]
