"""The batch's concurrency controller: AIMD on tasks in flight, bounded, thread-safe, pure.

It starts at its maximum (WaveSpeed queues tasks beyond an account's concurrency rather
than refusing them, so starting high costs only polls), grows by one per window of
successes, halves on a 429, and stops growing (and narrows to what is running plus
one) while WaveSpeed holds some of our tasks in its queue: the account's own concurrency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from klein_widget.client._exceptions import InvalidRequestError

__all__ = ["DEFAULT_CONCURRENCY", "Concurrency"]

DEFAULT_CONCURRENCY = 8  # upper bound; the controller finds the working level below it


class Concurrency:
    """AIMD limit on tasks in flight: +1 per window of successes, halved on 429, bounded.

    While WaveSpeed holds some of our tasks in its queue (the account runs fewer at once
    than we send), the limit does not grow and is cut to what is running plus one.

    Example:
        >>> c = Concurrency(maximum=8)
        >>> c.limit
        8
        >>> c.rate_limited(); c.limit
        4
    """

    def __init__(
        self,
        maximum: int = DEFAULT_CONCURRENCY,
        *,
        start: int | None = None,  # default: maximum
        cooldown: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 1:
            raise InvalidRequestError(
                f"concurrency must be a whole number of at least 1, not {maximum!r}",
                field="concurrency",
            )
        self.maximum = maximum
        self._window = float(maximum if start is None else max(1, min(start, maximum)))
        self._cooldown = cooldown  # one cut per burst of 429s, not one per request
        self._clock = clock
        self._last_cut = -float("inf")
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._queued: set[int] = set()
        self.peak = 0  # most jobs ever in flight at once
        self.cuts = 0  # times the limit was halved for a 429

    @property
    def limit(self) -> int:
        """How many jobs may be in flight now."""
        with self._lock:
            return max(1, int(self._window))

    def started(self, job: int) -> None:
        """A job was handed to the client."""
        with self._lock:
            self._in_flight.add(job)
            self.peak = max(self.peak, len(self._in_flight))

    def stage(self, job: int, stage: str) -> None:
        """A job's progress stage; ``queued`` means WaveSpeed is holding it back, and
        ``rate_limited`` that it refused a submit the client will retry by itself."""
        if stage == "rate_limited":
            self.rate_limited()  # the job stays in flight: its client is waiting to retry
            return
        with self._lock:
            if job not in self._in_flight:
                return
            if stage != "queued":
                self._queued.discard(job)
                return
            self._queued.add(job)
            running = len(self._in_flight) - len(self._queued)
            self._window = min(self._window, float(max(1, running + 1)))

    def succeeded(self, job: int) -> None:
        """Additive increase: +1 after about ``limit`` successes, unless tasks are queued."""
        with self._lock:
            self._in_flight.discard(job)
            self._queued.discard(job)
            if not self._queued:
                self._window = min(float(self.maximum), self._window + 1.0 / self._window)

    def failed(self, job: int) -> None:
        """A job ended with an error that says nothing about load."""
        with self._lock:
            self._in_flight.discard(job)
            self._queued.discard(job)

    def rate_limited(self, job: int | None = None) -> None:
        """Multiplicative decrease on a 429 (at most once per ``cooldown`` seconds)."""
        with self._lock:
            if job is not None:
                self._in_flight.discard(job)
                self._queued.discard(job)
            now = self._clock()
            if now - self._last_cut >= self._cooldown:
                self._window = max(1.0, self._window / 2)
                self._last_cut = now
                self.cuts += 1
