"""Pacing submits to WaveSpeed's rate limit: the limit given or learned from 429s, pure.

WaveSpeed limits images per minute by account tier (Bronze 2, Silver 500, Gold 3000, Ultra
5000) and answers a submit over the limit with 429 and ``Retry-After``. A client that only
backs off after each 429 keeps hitting it: a 12-image grid on Bronze would meet a 429 for
nearly every image. `Pacer` instead keeps count. Given a limit
(``KleinClient(rate_limit=2)``), or once a 429 has shown it (the submits accepted in the
window that the 429 closes), it lets at most that many submits go per window and says how
long until the next may go. Until the limit is known, submits in flight grow from one,
doubling with each acceptance (as TCP's slow start does), so a burst meets one 429, not
one per image.

No I/O and no sleeping: the clients and the batch runner ask `wait` and obey.

Example:
    >>> pacer = Pacer(RateLimit(2, per=60.0), clock=lambda: 0.0)
    >>> pacer.claim(); pacer.accepted(); pacer.claim(); pacer.accepted()
    >>> pacer.wait()
    60.0
    >>> pacer.note()
    'rate limit: next image in 60 s; WaveSpeed allows 2 a minute on this account'
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from klein_widget.client._constants import RATE_WINDOW
from klein_widget.client._exceptions import InvalidRequestError

__all__ = ["ANSWER_POLL", "Pacer", "RateLimit", "pacer_for"]

ANSWER_POLL = 0.02  # seconds between looks while a submit's answer is awaited (pacer, runner)
_MAX_BURST = 1 << 20  # submits in flight once acceptances have shown no limit near
_SLOW_START_END = 64  # submits in a round with no 429 after which rounds stop
_SLACK = 1.0  # seconds: Retry-After is whole seconds, and answers take a round trip


@dataclass(frozen=True)
class RateLimit:
    """At most ``images`` submits per ``per`` seconds (WaveSpeed counts per minute).

    Example:
        >>> RateLimit(2)  # Bronze
        RateLimit(images=2, per=60.0)
    """

    images: int
    per: float = RATE_WINDOW

    def __post_init__(self) -> None:
        if isinstance(self.images, bool) or not isinstance(self.images, int) or self.images < 1:
            raise InvalidRequestError(
                f"rate_limit must be a whole number of images of at least 1, not {self.images!r}",
                field="rate_limit",
            )
        if not self.per > 0:
            raise InvalidRequestError(
                f"a rate limit's window must be positive seconds, not {self.per!r}",
                field="rate_limit",
            )


def pacer_for(value: int | RateLimit | Pacer | None, clock: Callable[[], float]) -> Pacer:
    """The pacer a ``rate_limit=`` option names: a number is images per minute, a
    `RateLimit` any window, a `Pacer` itself (clients on one account may share one), None:
    learned from 429s.

    Example:
        >>> pacer_for(2, time.monotonic).limit
        RateLimit(images=2, per=60.0)
    """
    if isinstance(value, Pacer):
        return value
    limit = RateLimit(value) if isinstance(value, int) else value
    return Pacer(limit, clock=clock)


class Pacer:
    """Counts submits per window and says when the next may go (thread-safe).

    ``limit``: known in advance (never re-learned); else learned over ``window`` seconds.

    ``claim`` before a submit is sent, then exactly one of ``accepted``, ``refused``
    (a 429: the server did not take it) or ``released`` (any other end).
    """

    def __init__(
        self,
        limit: RateLimit | None = None,
        *,
        window: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        # Over which a limit is learned: given, or read off the first 429 (at most
        # WaveSpeed's minute; a server with shorter windows says so by its Retry-After).
        self._window = RATE_WINDOW if window is None else window
        self._window_given = window is not None
        self._first_accept: float | None = None  # in the window being counted
        self.given = limit is not None  # a given limit is never re-learned
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = -math.inf
        self._count = 0  # submits claimed in the current window
        self._opened = True  # the window's start is its first acceptance (not its claim)
        self._hold_until = -math.inf  # a Retry-After in force
        self._sending = 0  # submits sent, answer not yet here
        # Slow start: submits go in rounds of ``_burst``; a round all answered without a
        # 429 doubles the next. A round's answers free no places until all are in.
        self._burst = 1 if limit is None else _MAX_BURST
        self._round = 0  # submits claimed in the current round
        self._grow = True  # no answer of this round has said stop
        self._accepted: deque[float] = deque()  # acceptance times, for learning the limit
        self.refusals = 0  # 429s seen on submits

    @property
    def window(self) -> float:
        return self.limit.per if self.limit is not None else self._window

    def wait(self) -> float:
        """Seconds until a submit may be sent; 0 means now."""
        with self._lock:
            return self._wait(self._clock())

    def _wait(self, now: float) -> float:
        if now < self._hold_until:
            return self._hold_until - now
        if self._burst < _MAX_BURST and self._round >= self._burst:
            return ANSWER_POLL  # wait for an answer: it says how far to go
        if self.limit is None or now - self._window_start >= self.limit.per:
            return 0.0
        if self._count < self.limit.images:
            return 0.0
        return self._window_start + self.limit.per - now

    def claim(self) -> float:
        """Count a submit about to be sent if one may go now (returns 0); else return the
        seconds to wait, counting nothing."""
        with self._lock:
            now = self._clock()
            wait = self._wait(now)
            if wait > 0:
                return wait
            if self.limit is None or now - self._window_start >= self.limit.per:
                self._window_start, self._count, self._opened = now, 0, False
                if self.limit is not None:
                    self._first_accept = None
            self._count += 1
            self._sending += 1
            self._round += 1
            return 0.0

    def accepted(self) -> None:
        """The claimed submit was accepted: the burst may double."""
        with self._lock:
            now = self._clock()
            self._answered(grow=True)
            if not self._opened:  # WaveSpeed's window began when it took this, not before:
                self._window_start, self._opened = now, True  # count from its answer
            self._accepted.append(now)
            if self._first_accept is None:
                self._first_accept = now
            while self._accepted and self._accepted[0] <= now - self.window:
                self._accepted.popleft()

    def released(self) -> None:
        """The claimed submit ended otherwise (it may have been counted: it stays counted)."""
        with self._lock:
            self._answered(grow=False)

    def _answered(self, *, grow: bool) -> None:
        self._sending = max(0, self._sending - 1)
        self._grow = self._grow and grow
        if self._sending == 0:  # the round is over: the next may be larger
            if self._grow:  # past a few clean rounds the slow start is over
                grown = self._burst * 2
                self._burst = grown if grown < _SLOW_START_END else _MAX_BURST
            self._round, self._grow = 0, True

    def refused(self, retry_after: float | None) -> None:
        """The claimed submit met a 429: hold until ``retry_after`` and learn the limit."""
        with self._lock:
            now = self._clock()
            self.refusals += 1
            self._count = max(0, self._count - 1)  # not taken, so not counted there
            self._burst = 1
            self._answered(grow=False)
            hold = retry_after if retry_after is not None else 1.0
            self._hold_until = max(self._hold_until, now + hold)
            if not self.given:
                window = self.window
                if not self._window_given and self._first_accept is not None:
                    # The window ends at now + hold and began no later than our first
                    # acceptance in it: at least that long, at most WaveSpeed's minute.
                    window = min(RATE_WINDOW, max(hold, now + hold - self._first_accept))
                # The window this 429 closes began ``window - hold`` before now
                # (Retry-After is whole seconds, rounded up: hence the slack). What
                # WaveSpeed accepted from us since then is the account's limit.
                since = now + hold - window - _SLACK
                taken = sum(1 for t in self._accepted if t > since)
                if taken > 0:  # none: the quota went elsewhere; keep what is known
                    self.limit = RateLimit(taken, per=window)
            self._first_accept = None
            if self.limit is not None:  # full until the hold ends; the next opens after it
                self._window_start = now + hold - self.limit.per
                self._count, self._opened = self.limit.images, True

    def free(self) -> int:
        """How many submits the limit lets go now (a batch starts no more images than
        this). The slow start is not counted: those submits wait a round trip, in `claim`."""
        with self._lock:
            now = self._clock()
            if now < self._hold_until:
                return 0
            if self.limit is None:
                return _MAX_BURST
            if now - self._window_start >= self.limit.per:
                return self.limit.images
            return max(0, self.limit.images - self._count)

    def note(self) -> str:
        """What the user is told while a submit waits for the limit.

        Example:
            >>> Pacer(RateLimit(500)).note()
            'rate limit: WaveSpeed allows 500 a minute on this account'
        """
        with self._lock:
            wait = self._wait(self._clock())
            limit = self.limit
        allows = ""
        if limit is not None:
            per = "a minute" if limit.per == 60 else f"per {limit.per:g} s"
            allows = f"WaveSpeed allows {limit.images} {per} on this account"
        if wait <= ANSWER_POLL:
            return f"rate limit: {allows}" if allows else "rate limit"
        seconds = f"next image in {math.ceil(wait)} s"
        return f"rate limit: {seconds}; {allows}" if allows else f"rate limit: {seconds}"
