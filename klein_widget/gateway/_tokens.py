"""Tokens: students' and the teacher's, made here, stored only as hashes, and the limiter
that slows down anyone guessing them.

A token is looked up by its SHA-256 (an index lookup on the hash, so the time taken says
nothing about how close a guess came); the token itself is printed once and never stored.

Example:
    >>> token = new_token()
    >>> token.startswith("kgw_"), len(token_hash(token))
    (True, 64)
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["FailedLogins", "new_token", "same_token", "token_hash"]

_PREFIX = "kgw_"  # says where a token belongs when one turns up in a notebook


def new_token() -> str:
    """A fresh random token (192 bits), printable ASCII as every client accepts.

    Example:
        >>> new_token() != new_token()
        True
    """
    return _PREFIX + secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """What is stored instead of a token: its SHA-256, hex.

    Example:
        >>> token_hash("kgw_x")[:8]
        'bce891db'
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_token(token: str, stored_hash: str) -> bool:
    """Constant-time check of a token against a stored hash (the teacher's token).

    Example:
        >>> same_token("kgw_x", token_hash("kgw_x"))
        True
    """
    return hmac.compare_digest(token_hash(token), stored_hash)


class FailedLogins:
    """At most ``limit`` failed token checks per ``window`` seconds from one address.

    Example:
        >>> guard = FailedLogins(limit=2, window=60)
        >>> guard.failed("1.2.3.4"); guard.failed("1.2.3.4")
        >>> guard.wait("1.2.3.4") > 0
        True
    """

    def __init__(
        self, limit: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, address: str) -> float:
        """Seconds this address must wait before its next token check (0: go ahead)."""
        with self._lock:
            now = self._clock()
            times = self._recent(address, now)
            if len(times) < self.limit:
                return 0.0
            return max(1.0, math.ceil(times[0] + self.window - now))

    def failed(self, address: str) -> None:
        """Count one failed check from ``address``."""
        with self._lock:
            now = self._clock()
            self._recent(address, now).append(now)
            if len(self._failures) > 10_000:  # a flood of addresses must not grow memory
                self._failures = {a: t for a, t in self._failures.items() if t}
