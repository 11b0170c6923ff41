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
from collections import OrderedDict, deque

__all__ = ["FailedLogins", "new_token", "same_token", "token_bucket", "token_hash"]

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


def token_bucket(token: str) -> str:
    """What a wrong token is counted under: a short hash of what it claims to be, so one
    stale tab or one guesser slows down only itself, never a classmate behind the same
    address (a school's NAT, JupyterHub on the same host).

    Example:
        >>> token_bucket("kgw_stale") == token_bucket("kgw_stale") != token_bucket("kgw_x")
        True
    """
    return token_hash(token)[:16]


class FailedLogins:
    """At most ``limit`` failed checks per ``window`` seconds of one wrong token (its
    `token_bucket`), and at most ``overall`` of all wrong tokens together, so a flood of
    different guesses is bounded too. The table keeps the ``cap`` most recent buckets (LRU),
    so memory and time per check stay flat under any number of guesses. Only wrong tokens
    are ever held back: callers check a token before asking `wait`.

    Example:
        >>> guard = FailedLogins(limit=2, window=60)
        >>> guard.failed("bucket-a"); guard.failed("bucket-a")
        >>> guard.wait("bucket-a") > 0, guard.wait("bucket-b")
        (True, 0.0)
    """

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        *,
        overall: int = 600,
        cap: int = 4096,
    ) -> None:
        self.limit = limit
        self.window = window
        self.overall = overall
        self.cap = cap
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    @staticmethod
    def _seconds(oldest: float, window: float, now: float) -> float:
        return float(max(1.0, math.ceil(oldest + window - now)))

    def wait(self, bucket: str) -> float:
        """Seconds this wrong token (or every wrong token, in a flood) must wait before its
        next check (0: go ahead)."""
        with self._lock:
            now = time.monotonic()
            mine = self._trim(self._failures.get(bucket, deque()), now)
            if len(mine) >= self.limit:
                return self._seconds(mine[0], self.window, now)
            everyone = self._trim(self._all, now)
            if len(everyone) >= self.overall:
                return self._seconds(everyone[0], self.window, now)
            return 0.0

    def failed(self, bucket: str) -> None:
        """Count one failed check of the token in ``bucket``."""
        with self._lock:
            now = time.monotonic()
            times = self._trim(self._failures.pop(bucket, deque()), now)
            times.append(now)
            self._failures[bucket] = times  # most recent last
            while len(self._failures) > self.cap:
                self._failures.popitem(last=False)
            self._all.append(now)
            while len(self._all) > self.overall:  # older ones no longer decide anything
                self._all.popleft()

    def __len__(self) -> int:
        return len(self._failures)
