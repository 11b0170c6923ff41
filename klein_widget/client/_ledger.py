"""Spend and budget, counted exactly in mills (thousandths of a dollar), safe under concurrency.

A submission reserves its price before it is sent, so many concurrent submissions can
never together cross ``max_spend``. The reservation is committed once the server may
have accepted the task (we count what may be billed) and released only when the server
certainly refused it. A task that then ends failed is refunded by WaveSpeed: `refund`
takes it off again (and counts it as refunded, not as an image).

Each model of the family has its price (`price_for`, from the ledger's `PriceBook`, so
clients sharing a ledger share prices): WaveSpeed's published one, one its price endpoint
answered (`PriceBook.correct`), else the family's highest known price, reserved and
counted as unconfirmed, which the spend line says.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple

from klein_widget.client._exceptions import BudgetExceededError
from klein_widget.client._family import KleinModel, PriceBook

UNCONFIRMED_NOTE = "price unconfirmed"  # every door marks an unconfirmed figure so


class Reservation(NamedTuple):
    """What `Ledger.reserve` holds for one submit: mills, kind, and whether the price is
    confirmed (an unconfirmed one is the family's highest, reserved)."""

    mills: int
    kind: str
    confirmed: bool = True


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
    unconfirmed_mills: int = 0  # the part of ``mills`` reserved at an unconfirmed price

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
        """The total as shown: ``$0.016``, ``$0.016 simulated`` or ``$0.008 + $0.016 simulated``;
        a part reserved at an unconfirmed price says so (`unconfirmed_text`).

        Example:
            >>> Spend(3, 0, 24, simulated_mills=16).price
            '$0.008 + $0.016 simulated'
            >>> Spend(1, 0, 16, unconfirmed_mills=16).price
            '$0.016 reserved, price unconfirmed'
        """
        simulated = f"{money(self.simulated_mills / 1000)} simulated"
        if not self.simulated_mills:
            text = money(self.dollars)
        elif self.mills == self.simulated_mills:
            text = simulated
        else:
            text = f"{money(self.billed)} + {simulated}"
        return unconfirmed_text(text, self.unconfirmed_mills, self.mills)

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


def unconfirmed_text(text: str, unconfirmed_mills: int, total_mills: int) -> str:
    """``text`` (a price as shown) marked where ``unconfirmed_mills`` of its
    ``total_mills`` were reserved at an unconfirmed price: the one rule every door's
    price follows.

    Example:
        >>> unconfirmed_text("$0.016", 16, 16), unconfirmed_text("$0.024", 16, 24)
        ('$0.016 reserved, price unconfirmed', '$0.024 (of it $0.016 reserved, price unconfirmed)')
        >>> unconfirmed_text("$0.016 simulated", 16, 16)
        '$0.016 simulated, price unconfirmed'
    """
    if unconfirmed_mills <= 0:
        return text
    if unconfirmed_mills < total_mills:
        return f"{text} (of it {money(unconfirmed_mills / 1000)} reserved, {UNCONFIRMED_NOTE})"
    reserved = "" if text.endswith("simulated") else " reserved"
    return f"{text}{reserved}, {UNCONFIRMED_NOTE}"


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
        self._unconfirmed = 0
        self.prices = PriceBook()  # each model's price, corrected by its price endpoint
        self.asked_prices: set[str] = set()  # models whose price was asked (once)

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
                self._unconfirmed,
            )

    def price_for(self, model: KleinModel) -> tuple[int, bool]:
        """(mills, confirmed) one image of ``model`` costs: its published price, one its
        price endpoint answered (`prices`), else the family's highest, unconfirmed.

        Example:
            >>> from klein_widget.client._family import resolve_model
            >>> ledger = Ledger()
            >>> ledger.price_for(resolve_model("9b"))
            (16, False)
            >>> ledger.prices.correct("9b", 10)
            >>> ledger.price_for(resolve_model("9b"))
            (10, True)
        """
        return self.prices.mills(model), self.prices.confirmed(model)

    def reuse(self, mills: int) -> None:
        """An image was answered from what was already made: count what it saved."""
        with self._lock:
            self._reused += 1
            self._saved += mills

    def reserve(self, mills: int, kind: str, *, confirmed: bool = True) -> Reservation:
        """Hold ``mills`` for one submission, or raise `BudgetExceededError`
        (``confirmed=False``: the price is the family's highest, not known)."""
        with self._lock:
            if self._limit is not None and self._committed + self._reserved + mills > self._limit:
                held = (self._committed + self._reserved) / 1000
                raise BudgetExceededError(
                    f"This {kind} would cost {money(mills / 1000)} and take spending to "
                    f"{money(held + mills / 1000)}, over the budget of {money(self._limit / 1000)} "
                    "(max_spend). Nothing was sent. Raise max_spend to continue."
                )
            self._reserved += mills
            return Reservation(mills, kind, confirmed)

    def commit(self, token: Reservation, *, simulated: bool = False) -> None:
        """The server may have accepted it: count it as spent (``simulated``: by a local
        emulator, which bills nothing; kept apart so a later real bill is not mixed in)."""
        mills, kind, confirmed = token
        with self._lock:
            self._reserved -= mills
            self._committed += mills
            self._simulated += mills if simulated else 0
            self._unconfirmed += 0 if confirmed else mills
            if kind == "image":
                self._images += 1
            else:
                self._enhancements += 1

    def refund(self, mills: int, *, simulated: bool = False, confirmed: bool = True) -> None:
        """An accepted image task ended failed, and WaveSpeed refunds those: take it off
        the spend and the images, and count it as refunded."""
        with self._lock:
            self._committed -= mills
            self._simulated -= mills if simulated else 0
            self._unconfirmed -= 0 if confirmed else mills
            self._images -= 1
            self._refunded += 1

    def release(self, token: Reservation) -> None:
        """The server certainly did not take it: give the reservation back."""
        with self._lock:
            self._reserved -= token[0]
