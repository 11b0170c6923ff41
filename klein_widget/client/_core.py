"""Pure decisions shared by both clients: configuration, envelopes, errors, retries, polling.

Nothing here does I/O or sleeps. The sync and async clients feed it what the network
said and do what it decides, so each rule exists once.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from klein_widget.client._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    KleinError,
    RateLimitError,
)

DEFAULT_BASE_URL = "https://api.wavespeed.ai"
API_KEY_ENV = "WAVESPEED_API_KEY"
BASE_URL_ENV = "WAVESPEED_BASE_URL"


# --- configuration ---------------------------------------------------------------------


def resolve_api_key(api_key: str | None) -> str | None:
    """The explicit key, else ``$WAVESPEED_API_KEY``, else None (checked at first request).

    A key holding anything but printable ASCII (a line break, a space, a non-ASCII letter
    from a bad paste) is refused here, before any request, without showing it.
    """
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    key = key.strip() if key else None
    if key and not all("!" <= char <= "~" for char in key):
        source = "The API key" if api_key is not None else f"${API_KEY_ENV}"
        raise AuthenticationError(
            f"{source} holds characters a WaveSpeed key never has (a line break, a space or "
            "a non-ASCII letter, perhaps from a paste); nothing was sent. Copy the key from "
            "your WaveSpeed dashboard again."
        )
    return key or None


def resolve_base_url(base_url: str | None) -> str:
    """The explicit URL, else ``$WAVESPEED_BASE_URL``, else WaveSpeed's."""
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url.rstrip("/")


def url_origin(url: str) -> str:
    """The ``scheme://host`` of a URL ("" for a relative one): where a key may be sent,
    and the gallery's ``origin`` column.

    Example:
        >>> url_origin("https://api.example.com/v1/tasks/42")
        'https://api.example.com'
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def missing_key_error() -> AuthenticationError:
    """The error for "no key configured", saying every way to fix it."""
    return AuthenticationError(
        "No WaveSpeed API key is set. Set the WAVESPEED_API_KEY environment variable, call "
        "klein_widget.set_api_key() (it prompts without echo), or pass api_key=... to the "
        "client. To try everything without a key, run the local emulator: "
        "klein_widget.use_emulator() in a notebook, or `python -m klein_widget emulator`."
    )


def submit_path(model: str) -> str:
    """Path of a model's submit endpoint."""
    return f"/api/v3/{model}"


def result_path(task_id: str) -> str:
    """Path of the result endpoint every official client polls."""
    return f"/api/v3/predictions/{task_id}/result"


# --- responses ---------------------------------------------------------------------------


_MIN_SECRET = 8  # a one-letter test key must not turn "klein" into "[redacted]lein"


def redact(text: str, secret: str | None) -> str:
    """Remove the API key from text that may have echoed it (server messages, URLs)."""
    return text.replace(secret, "[redacted]") if secret and len(secret) >= _MIN_SECRET else text


def _json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nesting no task needs
        return None


def _server_message(body: Any, content: bytes) -> str:
    """Find the human message in any of the body shapes seen in the wild."""
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, Mapping | list):
                return json.dumps(value)[:300]
        data = body.get("data")
        if isinstance(data, Mapping) and isinstance(data.get("error"), str) and data["error"]:
            return str(data["error"])
    text = content.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        return "the server answered with an HTML page instead of JSON (a gateway error)"
    return text[:300] or "no message"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime, timezone

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def status_error(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    task_id: str | None = None,
    maybe_accepted: bool = False,
) -> KleinError:
    """Map an error status (HTTP or envelope ``code``) to the right exception."""
    if status in (401, 403):
        return AuthenticationError(
            f"WaveSpeed rejected the API key ({status}: {message}). Check WAVESPEED_API_KEY; "
            "a new key works only after the account's first top-up.",
            status_code=status,
        )
    if status == 429:
        hint = f" Retry after {retry_after:g} s." if retry_after is not None else ""
        return RateLimitError(
            f"Rate limited by WaveSpeed (429: {message}).{hint} Limits reset every minute; "
            "lower the batch concurrency or wait.",
            retry_after=retry_after,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
        )
    if status in (400, 422):
        message = f"WaveSpeed rejected the request ({status}): {message}"
    else:
        message = f"WaveSpeed answered {status}: {message}"
    return APIStatusError(
        message, status_code=status, task_id=task_id, maybe_accepted=maybe_accepted
    )


def parse_envelope(
    response: httpx.Response,
    *,
    secret: str | None = None,
    task_id: str | None = None,
    maybe_accepted: bool = False,
) -> dict[str, Any]:
    """Return the envelope's ``data``, or raise the mapped error.

    Both the HTTP status and the envelope ``code`` are checked: they can disagree.
    """
    content = response.content
    body = _json_or_none(content)
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if not 200 <= status < 300:
        message = redact(_server_message(body, content), secret)
        raise status_error(
            status,
            message,
            retry_after=retry_after,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
        )
    if not isinstance(body, Mapping):
        # A 2xx with a non-JSON page is a misbehaving gateway: worth another try on GETs.
        raise APIStatusError(
            f"WaveSpeed answered {status} without a JSON body: "
            + redact(_server_message(body, content), secret),
            status_code=502,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
        )
    code = body.get("code", 200)
    if isinstance(code, int) and not isinstance(code, bool) and code != 200:
        raise status_error(
            code,
            redact(_server_message(body, content), secret),
            retry_after=retry_after,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
        )
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise APIStatusError(
            "WaveSpeed answered without a data object: " + redact(content.decode()[:200], secret),
            status_code=502,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
        )
    return dict(data)


def sync_timeout_task(response: httpx.Response) -> tuple[bool, str | None]:
    """Did a sync-mode POST end in the server's sync timeout? Returns (timed_out, task_id).

    Recognises a gateway 504 (JSON or not), a body with ``code`` 5004, and a body whose
    task is still ``processing`` with "Sync mode timed out". The task keeps running.
    """
    body = _json_or_none(response.content)
    data = body.get("data") if isinstance(body, Mapping) else None
    data = data if isinstance(data, Mapping) else {}
    task_id = data.get("id") if isinstance(data.get("id"), str) and data.get("id") else None
    code = body.get("code") if isinstance(body, Mapping) else None
    error = str(data.get("error") or (body.get("message") if isinstance(body, Mapping) else ""))
    timed_out = (
        response.status_code == 504
        or code == 5004
        or data.get("code") == 5004
        or (data.get("status") == "processing" and "sync mode timed out" in error.lower())
    )
    return timed_out, task_id


def connection_error(
    exc: httpx.TransportError, *, during: str, secret: str | None = None
) -> APIConnectionError:
    """Map a transport failure; ``maybe_accepted`` says whether the request may have landed."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    detail = redact(str(exc) or type(exc).__name__, secret)
    if during == "submit" and not never_sent:
        return APIConnectionError(
            f"The connection broke after the request was sent ({detail}). WaveSpeed may have "
            "accepted and billed the task, so it was not sent again; klein_widget.resume() "
            "will fetch it if it was recorded, or check your WaveSpeed dashboard.",
            maybe_accepted=True,
        )
    return APIConnectionError(
        f"Could not reach WaveSpeed during {during} ({detail}). Check your network and "
        "WAVESPEED_BASE_URL.",
        maybe_accepted=not never_sent and during != "submit",
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
        >>> [round(d, 3) for d in itertools.islice(PollSchedule().delays(0.6), 4)]
        [0.57, 0.02, 0.02, 0.02]
    """

    fast: float = 0.02
    factor: float = 1.25
    cap: float = 1.0
    lead: float = 0.95  # first poll at this fraction of the expected time
    first_guess: float | None = None  # expected time before any has been learned

    def delays(self, expected: float | None, elapsed: float = 0.0) -> Iterator[float]:
        """Yield the pauses between polls, forever (the caller enforces the timeout)."""
        expected = expected or self.first_guess
        delay = self.fast * 2
        if expected:
            yield max(0.0, expected * self.lead - elapsed)
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
# 1024x1024 on an H100, so a new client first polls just before half a second.
DEFAULT_POLL = PollSchedule(first_guess=0.5)


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
        if observed_ms is None or observed_ms <= 0:
            return
        seconds = observed_ms / 1000
        previous = self._seconds.get(pixels)
        self._seconds[pixels] = seconds if previous is None else 0.7 * previous + 0.3 * seconds
