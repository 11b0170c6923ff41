"""What the upload protocol's and the price endpoint's answers mean: pure readings.

Uploads (the official SDK's ``Client.upload``): ``POST /api/v3/media/uploads`` answers a
ticket, ``{"upload": {"method": "PUT", "url", "headers"}, "download_url"}``; the bytes go
to ``upload.url`` with exactly ``upload.headers`` (another host: never the key). Every
error here says which reference it was and that nothing was submitted, and carries
``maybe_accepted=False``: an upload is not a task and is not billed.

Prices: ``POST /api/v3/model/price`` answers a shape no public source settles, so
`price_mills` reads it defensively (see there) and says None rather than guess.

Example:
    >>> price_mills({"unit_price": 0.012})
    12
    >>> price_mills({"price": "free"}) is None
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from klein_widget.client import _redact
from klein_widget.client._answers import http_url
from klein_widget.client._exceptions import (
    APIStatusError,
    GenerationTimeoutError,
    KleinError,
)
from klein_widget.client._references import Reference
from klein_widget.client._run import Run

__all__ = [
    "PRICE_INPUTS",
    "PRICE_PATH",
    "PRICE_TIMEOUT",
    "UPLOAD_PATH",
    "Ticket",
    "check_put",
    "price_mills",
    "read_ticket",
    "ticket_body",
    "upload_failed",
]

UPLOAD_PATH = "/api/v3/media/uploads"
PRICE_PATH = "/api/v3/model/price"
PRICE_TIMEOUT = 10.0  # seconds for a price look-up: a correction, never worth a long wait
# What the price look-up sends as ``inputs`` unless told: a plain text-to-image request
# (the endpoint's use of them is unconfirmed; the desktop app sends the form's values).
PRICE_INPUTS: dict[str, Any] = {"prompt": "a red fox", "size": "1024*1024", "seed": -1}
MAX_UPLOAD_ANSWER = 1 << 20  # a ticket or a PUT's answer: a few hundred bytes in practice
# The largest price taken as dollars for one image: a figure above it is in another unit
# (cents, mills) or another kind of answer, and is not guessed at.
MAX_DOLLARS = 1.0
# Where a price may be, in order: ``data`` itself, or one of these keys of ``data`` (or of
# ``data.price`` when that is an object). Every figure is dollars, except "price_mills".
PRICE_KEYS = (
    "price",
    "unit_price",
    "unitPrice",
    "price_per_image",
    "total_price",
    "cost",
    "amount",
)


@dataclass(frozen=True)
class Ticket:
    """Where to PUT one file, with which headers, and its URL once there."""

    url: str
    headers: dict[str, str]
    download_url: str


def ticket_body(reference: Reference) -> dict[str, Any]:
    """The ticket request for ``reference``: its neutral name, length and type."""
    assert reference.data is not None, "a URL reference is not uploaded"
    return {
        "filename": reference.filename,
        "size": len(reference.data),
        "content_type": reference.content_type,
    }


def _what(number: int) -> str:
    return f"reference image {number}"


def upload_failed(error: KleinError, number: int, run: Run) -> KleinError:
    """What an upload of reference ``number`` raises once ``error`` ends it: at the call's
    deadline a `GenerationTimeoutError`, else ``error`` saying it came while uploading and
    that nothing was submitted; never "maybe accepted" (an upload is no task)."""
    if run.clock() >= run.deadline:
        return GenerationTimeoutError(
            f"Gave up uploading {_what(number)} after {run.deadline - run.started:g} s (the "
            f"last answer: {error.message}). Nothing was submitted or billed; try again, or "
            "with a longer timeout."
        )
    suffix = " Nothing was submitted or billed."
    if not error.message.startswith("Uploading "):
        error.message = f"Uploading {_what(number)} failed: {error.message.rstrip()}{suffix}"
        error.args = (error.message,)
    error.maybe_accepted = False
    error.task_id = None
    return error


def _bogus(number: int, why: str) -> APIStatusError:
    return APIStatusError(
        f"WaveSpeed's upload ticket for {_what(number)} is not usable ({why}). Nothing was "
        "submitted or billed.",
        status_code=502,
    )


def read_ticket(data: Mapping[str, Any], number: int, secret: str | None) -> Ticket:
    """The ticket in an answer's ``data``, or an `APIStatusError` if a part is missing or
    it would send the key to the upload host."""
    upload = data.get("upload")
    if not isinstance(upload, Mapping):
        raise _bogus(number, "no upload instruction")
    method = upload.get("method")
    if not isinstance(method, str) or method.upper() != "PUT":
        raise _bogus(number, f"it asks for {str(method)[:20]!r}, not PUT")
    if not http_url(upload.get("url")):
        raise _bogus(number, "its upload URL is not http(s)")
    headers = upload.get("headers", {})
    if headers is None:
        headers = {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _bogus(number, "its headers are not names and texts")
    if secret and any(secret in value for value in headers.values()):
        # The PUT goes to another host: a ticket echoing the key must not carry it there.
        raise _bogus(number, "its headers hold the API key, which never goes to the upload host")
    download = data.get("download_url")
    if not http_url(download):
        raise _bogus(number, "its download_url is not an http(s) URL")
    return Ticket(str(upload["url"]), dict(headers), str(download))


def check_put(response: httpx.Response, number: int, secret: str | None) -> None:
    """Raise if the upload host did not take the bytes (any non-2xx)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = _redact.redact(
        response.content[:300].decode("utf-8", "replace").strip() or "no message", secret
    )
    hint = " (the ticket may have expired: try again)" if status in (401, 403) else ""
    raise APIStatusError(
        f"the upload host refused the bytes of {_what(number)} with HTTP {status}{hint}: {detail}",
        status_code=status,
        response=_redact.redacted_response(response, secret),
    )


def _dollars(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().lstrip("$"))
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value) and 0 < value <= MAX_DOLLARS:
        return float(value)
    return None


def price_mills(data: object) -> int | None:
    """One image's price in mills from the price endpoint's ``data``, or None.

    Accepted (the real shape is unconfirmed): ``data`` itself a number of dollars; or an
    object with ``price_mills`` (a whole number of mills: the emulator's), or a number of
    dollars (a number or a numeric string, ``$`` allowed) under one of `PRICE_KEYS`, also
    one level down in ``data.price``. Dollars must be above 0 and at most `MAX_DOLLARS`;
    they are rounded up to whole mills (a budget never reserves too little). An answer
    with ``"price_confirmed": false`` (the emulator's and a gateway's reserve, for a price
    WaveSpeed publishes nowhere: `klein_widget.serving._wire.price_data`) and anything else
    is None: the correction is skipped, never guessed.

    Example:
        >>> price_mills(0.0104), price_mills({"price": {"amount": "0.016"}})
        (11, 16)
    """
    if isinstance(data, Mapping) and data.get("price_confirmed") is False:
        return None  # the server itself says the figure is a guess
    return _price_in(data)


def _price_in(data: object) -> int | None:
    if not isinstance(data, Mapping):
        dollars = _dollars(data)
        return None if dollars is None else math.ceil(round(dollars * 1000, 6))
    mills = data.get("price_mills")
    if isinstance(mills, int) and not isinstance(mills, bool) and 0 < mills <= MAX_DOLLARS * 1000:
        return mills
    for key in PRICE_KEYS:
        if key not in data:
            continue
        value = data[key]
        found = _price_in(value) if not isinstance(value, Mapping) or key == "price" else None
        if found is not None:
            return found
    return None
