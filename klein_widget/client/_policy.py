"""When to try again and when to ask again: the retry and poll decisions, pure.

Nothing here does I/O or sleeps; the clients' loops ask and obey, so each rule exists once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from klein_widget.client._constants import (
    CONNECT_TIMEOUT,
    INLINE_ALWAYS_PIXELS,
    INLINE_COST_PER_PIXEL,
    READ_TIMEOUT,
)
from klein_widget.client._exceptions import (
    APIConnectionError,
    APIStatusError,
    KleinError,
    RateLimitError,
)

# --- retries ------------------------------------------------------------------------------

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How idempotent requests (result GETs, downloads) are retried.

    Exponential backoff from ``base_delay`` doubling to ``max_delay``, with full jitter
    on top, honouring the server's Retry-After when it gives one. The submit POST is only
    ever retried when the server said it did not take it (429) or no connection was made.

    Example:
        >>> RetryPolicy(base_delay=0).delay(3, None, random.Random(0))
        0.0
    """

    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, 60.0)
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff * (0.5 + rng.random() / 2)


def should_retry_read(error: KleinError) -> bool:
    """Retry a GET (result, download) after this error?"""
    if isinstance(error, APIConnectionError):
        return True
    return isinstance(error, APIStatusError) and error.status_code in RETRYABLE_STATUSES


def should_retry_submit(error: KleinError) -> bool:
    """Retry the submit POST? Only when the server certainly did not take it."""
    if isinstance(error, RateLimitError):
        return True
    return isinstance(error, APIConnectionError) and not error.maybe_accepted


def retry_after_of(error: KleinError) -> float | None:
    """The server's Retry-After hint carried by an error, if any."""
    return error.retry_after if isinstance(error, RateLimitError) else None


# --- polling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollSchedule:
    """When to ask for a task's result: fast at first, backing off, capped.

    With ``expected`` (the server's recent inference time, learned by the client) the
    first poll waits until just before the image should be ready; then polls start at
    ``fast`` and grow by ``factor`` up to ``cap``. ``PollSchedule(fast=0, cap=0)`` polls
    without pausing (tests).

    Example:
        >>> import itertools
        >>> [round(d, 3) for d in itertools.islice(DEFAULT_POLL.delays(0.6), 4)]
        [0.615, 0.02, 0.02, 0.02]
    """

    fast: float = 0.02
    factor: float = 1.25
    cap: float = 1.0
    lead: float = 0.95  # first poll at this fraction of the expected time...
    margin: float = 0.0  # ...plus this many seconds
    first_guess: float | None = None  # expected time before any has been learned

    def delays(self, expected: float | None, elapsed: float = 0.0) -> Iterator[float]:
        """Yield the pauses between polls, forever (the caller enforces the timeout).

        ``elapsed``: seconds since the submit was sent. A poll sent ``t`` seconds after
        the submit reaches the server ``t`` after the task's clock started there, whatever
        the round trip, so the first poll is timed from the submit's sending.
        """
        expected = expected if expected is not None else self.first_guess
        delay = self.fast * 2
        if expected is not None:
            yield max(0.0, expected * self.lead + self.margin - elapsed)
            # Around the expected finish every poll may be the one that sees it: keep a
            # steady fast pace until half again the expected time, then back off.
            delay = self.fast
            if self.fast > 0:
                for _ in range(math.ceil(expected * (1.5 - self.lead) / self.fast)):
                    yield min(delay, self.cap)
        while True:
            yield min(delay, self.cap)
            delay = delay * self.factor


# What clients use unless told otherwise. FLUX.2 [klein] 4B takes about 0.57 s at
# 1024x1024 on an H100, so a new client first polls at half a second. Polls are sent one
# after another, so over a network each poll that comes too early costs a whole round
# trip: the first is aimed just after the expected finish (issue 17: at 150 ms round trip,
# aiming 5% early cost 1.36x the physical limit), not before it.
DEFAULT_POLL = PollSchedule(lead=1.0, margin=0.015, first_guess=0.5)


def inline_output(pixels: int, *, asked: bool, round_trip: float | None) -> bool:
    """Ask WaveSpeed for the image inline (base64 in the answer) rather than as a URL?

    Inline, the answer that says "completed" carries the image and the download's round
    trip is gone; but the image travels a third larger, as JSON text to parse and decode.
    Measured in ``bench/`` (issue 17, section 7b) at no round trip: within 6 ms of a
    download at 512x512 and below, 20-60 ms more per megapixel above (and 2.4-3.5x the
    CPU). So small images always come inline, larger ones when the round trip learned
    from earlier submits is longer than `INLINE_COST_PER_PIXEL` says inline costs.
    ``asked``: the caller asked for base64 itself.

    Example:
        >>> inline_output(512 * 512, asked=False, round_trip=None)
        True
        >>> [inline_output(1024 * 1024, asked=False, round_trip=rtt) for rtt in (0.01, 0.15)]
        [False, True]
    """
    if asked or pixels <= INLINE_ALWAYS_PIXELS:
        return True
    return round_trip is not None and round_trip >= INLINE_COST_PER_PIXEL * pixels


class InferenceTimes:
    """The server's inference time, learned per image size, for the poll schedule.

    A size seen before gets its own running average. An unseen size gets the tightest
    lower bound the others give (a smaller image's time, or a larger one's scaled down by
    pixels), because polling a little early costs one cheap request, and polling late
    costs the user's time.

    Example:
        >>> times = InferenceTimes()
        >>> times.learn(1536 * 1536, 1400)
        >>> round(times.expected(512 * 512), 3)  # scaled down: poll early, not a second late
        0.156
    """

    def __init__(self) -> None:
        self._seconds: dict[int, float] = {}  # pixels -> running average

    def expected(self, pixels: int) -> float | None:
        """Seconds an image of ``pixels`` should take, or None before anything is learned."""
        if pixels in self._seconds:
            return self._seconds[pixels]
        bounds = [t * min(1.0, pixels / p) for p, t in self._seconds.items()]
        return max(bounds, default=None)

    def learn(self, pixels: int, observed_ms: int | None) -> None:
        """Fold a completed task's inference time into its size's average."""
        if observed_ms is None or observed_ms < 0:  # 0 is a time too: a server that is instant
            return
        seconds = observed_ms / 1000
        previous = self._seconds.get(pixels)
        self._seconds[pixels] = seconds if previous is None else 0.7 * previous + 0.3 * seconds


# --- deadlines and caps of one request ----------------------------------------------------


def request_timeout(remaining: float, *, long_read: bool = False) -> httpx.Timeout:
    """Per-operation timeouts that never reach past the ``remaining`` seconds.

    A sync-mode POST stays open until the image is done: ``long_read`` lets one read use
    all the time left. The whole body is held to the deadline as it streams in
    (`check_body`).

    Example:
        >>> request_timeout(5.0).read, request_timeout(500.0).read
        (5.0, 60.0)
    """
    remaining = max(0.001, remaining)
    read = remaining if long_read else min(READ_TIMEOUT, remaining)
    return httpx.Timeout(read, connect=min(CONNECT_TIMEOUT, remaining))


def check_body(size: int, limit: int, *, past_deadline: bool, during: str) -> None:
    """Raise if a body being read has grown past ``limit`` or its deadline has passed."""
    if size > limit:
        raise APIStatusError(
            f"WaveSpeed's answer during {during} was larger than {limit >> 20} MB, far "
            "more than an image or a task needs; it was not read further.",
            status_code=502,
            maybe_accepted=during != "submit",
        )
    if past_deadline:
        raise httpx.ReadTimeout(f"the answer was still arriving at the deadline ({during})")
