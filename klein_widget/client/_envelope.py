"""What the server said, in the client's terms: envelopes, error mapping, Retry-After.

Pure: the clients hand it responses and raise what it returns. Both the HTTP status and
the envelope ``code`` are checked, because they can disagree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from klein_widget.client._config import needs_key
from klein_widget.client._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BudgetExceededError,
    KleinError,
    RateLimitError,
    fetch_later,
)
from klein_widget.client._redact import redact, redacted_response


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
    key_sent: bool = True,
    server: str = "WaveSpeed",
    response: httpx.Response | None = None,
) -> KleinError:
    """Map an error status (HTTP or envelope ``code``) to the right exception
    (``response``: the redacted answer it came in, kept on an `APIStatusError`).

    ``server`` names who answered (`server_name`): a 402 from a class gateway is its
    budget refusal, and says so.
    """
    if status == 402:
        return BudgetExceededError(
            f"{server} refused this request for lack of budget (402): {message.rstrip('.')}. "
            "Nothing was made or charged.",
            task_id=task_id,
        )
    if status in (401, 403):
        if key_sent:
            text = (
                f"WaveSpeed rejected the API key ({status}: {message}). Check "
                "WAVESPEED_API_KEY; a new key works only after the account's first top-up."
            )
        else:
            text = (
                f"This server wants an API key ({status}: {message}) and none is set. Set "
                "WAVESPEED_API_KEY (in a notebook, klein_widget.set_api_key() asks for it)."
            )
        return AuthenticationError(
            text, status_code=status, task_id=task_id, maybe_accepted=maybe_accepted
        )
    if status == 429:
        hint = f" Retry after {retry_after:g} s." if retry_after is not None else ""
        return RateLimitError(
            f"Rate limited by WaveSpeed (429: {message}).{hint} Limits reset every minute; "
            "lower the batch concurrency or wait.",
            retry_after=retry_after,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
            response=response,
        )
    if status in (400, 422):
        message = f"WaveSpeed rejected the request ({status}): {message}"
    else:
        message = f"WaveSpeed answered {status}: {message}"
    return APIStatusError(
        message,
        status_code=status,
        task_id=task_id,
        maybe_accepted=maybe_accepted,
        response=response,
    )


def server_name(response: httpx.Response) -> str:
    """Who answered ``response``: WaveSpeed on its own hosts, else the class gateway (the
    only other server that refuses for budget).

    Example:
        >>> server_name(httpx.Response(402, request=httpx.Request("GET", "http://gw:8000/")))
        'The class gateway'
    """
    try:
        url = str(response.request.url)
    except RuntimeError:  # a response made without a request (tests): say WaveSpeed
        return "WaveSpeed"
    return "WaveSpeed" if needs_key(url) else "The class gateway"


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

    def refused(code: int) -> KleinError:  # the server said no: its message, mapped
        return status_error(
            code,
            redact(_server_message(body, content), secret),
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            task_id=task_id,
            maybe_accepted=maybe_accepted,
            key_sent=secret is not None,
            server=server_name(response),
            response=redacted_response(response, secret),
        )

    def malformed(what: str, said: str) -> APIStatusError:  # a misbehaving gateway: retried
        return APIStatusError(
            f"WaveSpeed answered {what}: " + redact(said, secret),
            status_code=502,
            task_id=task_id,
            maybe_accepted=maybe_accepted,
            response=redacted_response(response, secret),
        )

    status = response.status_code
    if not 200 <= status < 300:
        raise refused(status)
    if not isinstance(body, Mapping):
        raise malformed(f"{status} without a JSON body", _server_message(body, content))
    code = body.get("code", 200)
    if isinstance(code, int) and not isinstance(code, bool) and code != 200:
        raise refused(code)
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise malformed("without a data object", content[:200].decode("utf-8", "replace"))
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
    exc: httpx.RequestError, *, during: str, secret: str | None = None
) -> APIConnectionError:
    """Map a transport failure (also a redirect loop or a body that does not decode);
    ``maybe_accepted`` says whether the request may have landed."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    detail = redact(str(exc) or type(exc).__name__, secret)
    if during == "submit" and not never_sent:
        return APIConnectionError(
            f"The connection broke after the request was sent ({detail}). WaveSpeed may have "
            f"accepted and billed the task, so it was not sent again. {fetch_later(None)}",
            maybe_accepted=True,
        )
    return APIConnectionError(
        f"Could not reach WaveSpeed during {during} ({detail}). Check your network and "
        "WAVESPEED_BASE_URL.",
        maybe_accepted=not never_sent and during != "submit",
    )
