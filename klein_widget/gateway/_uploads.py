"""Uploads through the gateway: tickets per student under caps, and what each ticket's file is.

A student's client asks ``POST /api/v3/media/uploads`` with its class token; the gateway
asks upstream for a ticket with the teacher's key and answers it unchanged, so the ``PUT``
goes straight to the storage URL with no key at all. Uploads are not charged (WaveSpeed
does not bill them), so they are capped instead, per student: a file's size
(`UploadLimits.max_bytes`), and tickets and bytes per hour.

The class database remembers each ``download_url`` handed out (`ClassDB.record_upload`,
across restarts). An edit that names one is keyed in the class's store by the file's
content, not its URL: the gateway fetches that file once (from the upstream's storage,
never from an address a student chose, so it cannot be pointed at the gateway's own
network), under the size cap and a deadline, hashes it and keeps ``url -> sha256`` (an
upload's URL never changes what it serves). Two students uploading the same photo
therefore ask for the same recipe.

Example:
    >>> desk = UploadDesk(UploadLimits(per_hour=1))
    >>> desk.admit("ada", 10) is None, desk.admit("ada", 10) is not None
    (True, True)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

__all__ = ["UploadDesk", "UploadLimits"]

_HOUR = 3600.0


@dataclass(frozen=True)
class UploadLimits:
    """Each student's caps on uploads through the gateway."""

    max_bytes: int = 20 << 20
    """One file (WaveSpeed takes 200 MB; a reference photo is a few MB)."""
    per_hour: int = 60
    """Tickets per student in any hour."""
    bytes_per_hour: int = 200 << 20
    """Bytes declared per student in any hour."""
    fetch_timeout: float = 20.0
    """Seconds to read one uploaded file back for its hash."""


class UploadDesk:
    """Tickets handed out per student in the last hour (in memory). Safe across threads."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._recent: dict[str, deque[tuple[float, int]]] = {}

    def admit(self, student: str, size: int, now: float | None = None) -> str | None:
        """Count one ticket of ``size`` bytes for ``student``; None if allowed, else why
        not (nothing is counted then)."""
        limits = self.limits
        if size > limits.max_bytes:
            return f"a file may be at most {limits.max_bytes} bytes through the class gateway"
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._recent.setdefault(student, deque())
            while recent and recent[0][0] <= now - _HOUR:
                recent.popleft()
            if len(recent) >= limits.per_hour:
                return f"at most {limits.per_hour} uploads an hour"
            if sum(n for _, n in recent) + size > limits.bytes_per_hour:
                return f"at most {limits.bytes_per_hour} bytes of uploads an hour"
            recent.append((now, size))
        return None

    def wait(self, student: str, now: float | None = None) -> int:
        """Seconds until ``student``'s oldest ticket of the hour no longer counts."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._recent.get(student)
            return max(1, int(recent[0][0] + _HOUR - now) + 1) if recent else 1
