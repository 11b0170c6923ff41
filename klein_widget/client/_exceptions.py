"""Every error klein-widget raises, under one root.

```
KleinError
├── InvalidRequestError      bad input, caught before anything is sent (also a ValueError)
├── BudgetExceededError      the submission would cross ``max_spend``; nothing is sent
├── AuthenticationError      no API key, or the server refused it (401/403)
├── APIConnectionError       the server could not be reached, or the connection broke
├── APIStatusError           the server answered with an error (HTTP status or envelope code)
│   └── RateLimitError       429: too many requests; ``retry_after`` says when to retry
├── GenerationFailedError    the task ended failed, cancelled, timed out or deleted
└── GenerationTimeoutError   we stopped waiting; the task may still finish: ``task_id``
```

Errors that happen after the server may have accepted (and billed) a task carry
``task_id`` when it is known and ``maybe_accepted=True``, so nothing paid for is
lost without a trace: ``client.wait(task_id)`` or ``klein_widget.resume()`` fetch it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from klein_widget.client._prediction import Prediction

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AuthenticationError",
    "BudgetExceededError",
    "GenerationFailedError",
    "GenerationTimeoutError",
    "InvalidRequestError",
    "KleinError",
    "RateLimitError",
]


def fetch_later(task_id: str | None) -> str:
    """How a Python user gets a paid task's image later: the one sentence every error after
    acceptance ends with (other doors, such as the ``klein`` command, put theirs instead).

    Example:
        >>> fetch_later("t1")
        "Fetch it later with client.fetch('t1') or klein_widget.resume()."
    """
    if task_id:
        return f"Fetch it later with client.fetch({task_id!r}) or klein_widget.resume()."
    return "klein_widget.resume() fetches it if it was recorded; or see your WaveSpeed dashboard."


class KleinError(Exception):
    """Base class of every klein-widget error.

    Example:
        >>> try:
        ...     raise KleinError("boom", task_id="abc")
        ... except KleinError as e:
        ...     e.task_id
        'abc'
    """

    def __init__(
        self, message: str, *, task_id: str | None = None, maybe_accepted: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.task_id = task_id
        self.maybe_accepted = maybe_accepted


class InvalidRequestError(KleinError, ValueError):
    """An input is out of range or of the wrong type; nothing was sent.

    ``field`` names the offending parameter (``"width"``, ``"seed"``, ...).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BudgetExceededError(KleinError):
    """Sending this request would cross the client's ``max_spend``; nothing was sent."""


class AuthenticationError(KleinError):
    """No API key is configured, or the server rejected it."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        task_id: str | None = None,
        maybe_accepted: bool = False,
    ) -> None:
        super().__init__(message, task_id=task_id, maybe_accepted=maybe_accepted)
        self.status_code = status_code


class APIConnectionError(KleinError):
    """The server could not be reached, or the connection broke before an answer."""


# Headers a server may name its request by (WaveSpeed documents none yet): the first found.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-trace-id")


class APIStatusError(KleinError):
    """The server answered with an error: a non-2xx HTTP status or an envelope ``code``.

    ``response`` is the answer, as httpx's and openai's errors keep it, but redacted: its
    status, its headers without ``Authorization`` or ``Set-Cookie``, its body cut to a few
    kilobytes, the API key taken out of both, and no request (which holds the key). None
    for an error found in a good answer's shape.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        task_id: str | None = None,
        maybe_accepted: bool = False,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message, task_id=task_id, maybe_accepted=maybe_accepted)
        self.status_code = status_code
        self.response = response

    @property
    def body(self) -> str | None:
        """The answer's body text (redacted, capped), if the error came from one."""
        return None if self.response is None else self.response.text

    @property
    def request_id(self) -> str | None:
        """The server's id for the failed request, if it sent one (quote it to support)."""
        if self.response is None:
            return None
        found = (self.response.headers.get(name) for name in REQUEST_ID_HEADERS)
        return next((value for value in found if value), None)


class RateLimitError(APIStatusError):
    """429 Too Many Requests. ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        task_id: str | None = None,
        maybe_accepted: bool = False,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=429,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
            response=response,
        )
        self.retry_after = retry_after


class GenerationFailedError(KleinError):
    """The task reached a terminal failure; ``prediction`` holds what the server said."""

    def __init__(self, message: str, *, prediction: Prediction) -> None:
        super().__init__(message, task_id=prediction.id, maybe_accepted=True)
        self.prediction = prediction


class GenerationTimeoutError(KleinError, TimeoutError):
    """We stopped waiting; the task may still complete. Fetch it later with ``task_id``."""
