"""What the server's answers mean for one task: pure readings, each raising a `KleinError`
that names the task when an answer is not what WaveSpeed ever sends.

Example:
    >>> poll_url("t1", None, "https://api.wavespeed.ai")
    'https://api.wavespeed.ai/api/v3/predictions/t1/result'
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from klein_widget.client import _envelope, _redact
from klein_widget.client._config import result_path, url_origin
from klein_widget.client._constants import MAX_IMAGE_PIXELS
from klein_widget.client._exceptions import APIStatusError, GenerationFailedError, fetch_later
from klein_widget.client._metadata import check_image
from klein_widget.client._models import Prediction

__all__ = [
    "bogus_image",
    "buffered",
    "checked_image",
    "enhanced_text",
    "first_output",
    "http_url",
    "image_or_url",
    "image_parser",
    "poll_url",
    "prediction_from",
    "result_parser",
    "submit_data",
]


def http_url(value: object) -> bool:
    """Is ``value`` an absolute http(s) URL with a host, the only kind this package
    downloads from or uploads to (`url_origin` takes any scheme)?

    Example:
        >>> http_url("https://cdn.example/fox.png"), http_url("ftp://cdn.example/fox.png")
        (True, False)
    """
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


_ENCODING_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def buffered(response: httpx.Response, content: bytes) -> httpx.Response:
    """A response like ``response`` (streamed and closed) holding ``content``, its whole
    decoded body: built through httpx's public constructor, without the headers that
    described the body as it was sent (compressed, chunked)."""
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in _ENCODING_HEADERS
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=response.request,
        history=response.history,
    )


def prediction_from(
    data: dict[str, Any], task_id: str | None = None, secret: str | None = None
) -> Prediction:
    """A Prediction from an envelope's data, or an error naming the task if it is bogus.

    The task's ``error`` text is redacted: a server may echo what it was sent.
    """
    try:
        prediction = Prediction.from_json(data)
    except ValueError as error:
        found = data.get("id")
        task_id = task_id or (found if isinstance(found, str) and found else None)
        raise APIStatusError(
            f"WaveSpeed described task {task_id or '(no id)'} in a shape it never uses "
            f"({error}). {fetch_later(task_id)}",
            status_code=502,
            task_id=task_id,
            maybe_accepted=True,
        ) from None
    if prediction.error and secret:
        prediction = dataclasses.replace(prediction, error=_redact.redact(prediction.error, secret))
    return prediction


def first_output(prediction: Prediction) -> str:
    """The first output of a completed task, or raise if it failed or has none."""
    if prediction.failed:
        reason = prediction.error or "no reason given"
        raise GenerationFailedError(
            f"Task {prediction.id} {prediction.status}: {reason}", prediction=prediction
        )
    if not prediction.outputs:
        raise APIStatusError(
            f"Task {prediction.id} completed without outputs.",
            status_code=502,
            task_id=prediction.id,
            maybe_accepted=True,
        )
    return prediction.outputs[0]


def checked_image(task_id: str, image: bytes) -> bytes:
    try:
        check_image(image, MAX_IMAGE_PIXELS)
    except ValueError as error:
        raise bogus_image(task_id, str(error)) from None
    return image


def bogus_image(task_id: str, why: str) -> APIStatusError:
    return APIStatusError(
        f"Task {task_id} completed, but its output is not a usable image: {why}. "
        f"It may be billed. {fetch_later(task_id)}",
        status_code=502,
        task_id=task_id,
        maybe_accepted=True,
    )


def enhanced_text(prediction: Prediction) -> str:
    """The prompt optimizer's text, or raise as `first_output` does, or if it is blank."""
    text = first_output(prediction).strip()
    if not text:
        raise APIStatusError(
            "The prompt enhancer returned no text.", status_code=502, task_id=prediction.id
        )
    return text


def result_parser(task_id: str, secret: str | None) -> Callable[[httpx.Response], Prediction]:
    """Read a poll's answer for ``task_id`` (every error names the task)."""

    def parse(response: httpx.Response) -> Prediction:
        data = _envelope.parse_envelope(
            response, secret=secret, task_id=task_id, maybe_accepted=True
        )
        return prediction_from(data, task_id, secret)

    return parse


def image_or_url(prediction: Prediction, base_url: str) -> tuple[bytes | None, str]:
    """A completed task's image if inline (base64), else the absolute URL to download.

    A relative URL is the API's own; a URL of any scheme but http(s) (``ftp:``,
    ``file:``, ...) is refused with an error naming the task, and nothing is fetched.
    """
    output = first_output(prediction)
    scheme = urlsplit(output).scheme.lower()
    if output.startswith("/") or scheme not in ("", "data"):  # a URL, not inline bytes
        url = base_url + output if output.startswith("/") else output
        if not http_url(url):
            raise bogus_image(
                prediction.id, f"its URL {output[:80]!r} is not an http(s) URL with a host"
            )
        return None, url
    payload = output.partition(",")[2] if output.startswith("data:") else output
    try:
        image = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bogus_image(prediction.id, "it is neither an image URL nor base64") from None
    return checked_image(prediction.id, image), ""


def image_parser(task_id: str, secret: str | None = None) -> Callable[[httpx.Response], bytes]:
    """Read a download's answer: the image, checked, or an error naming the task."""

    def parse(response: httpx.Response) -> bytes:
        if response.status_code in (401, 403, 404, 410):  # the link is gone, not the key
            raise APIStatusError(
                f"The image host refused the download of task {task_id} "
                f"({response.status_code}); the link may have expired. {fetch_later(task_id)}",
                status_code=response.status_code,
                task_id=task_id,
                maybe_accepted=True,
                response=_redact.redacted_response(response, secret),
            )
        if response.status_code >= 300:  # an error page from a CDN: retryable
            raise _envelope.status_error(
                response.status_code,
                f"downloading the image of task {task_id} failed",
                retry_after=_envelope.parse_retry_after(response.headers.get("retry-after")),
                task_id=task_id,
                maybe_accepted=True,
                response=_redact.redacted_response(response, secret),
            )
        return checked_image(task_id, response.content)

    return parse


def submit_data(response: httpx.Response, sync_mode: bool, secret: str | None) -> dict[str, Any]:
    """The data of a submit's answer, or the error it means.

    A sync-mode timeout that names its task becomes a task to poll. Only a 3xx or 4xx
    proves the task was refused; any 2xx or 5xx may have been taken (``maybe_accepted``).
    """
    if sync_mode:
        timed_out, task_id = _envelope.sync_timeout_task(response)
        if timed_out and task_id:
            return {"id": task_id, "status": "processing"}  # keep going by polling
        if timed_out:
            raise APIStatusError(
                "Sync mode timed out at WaveSpeed's gateway, and the answer did not say "
                "which task it was: it may still complete and be billed, but cannot be "
                "fetched. Use polling (sync_mode=False) for this prompt.",
                status_code=response.status_code,
                maybe_accepted=True,
            )
    refused = 300 <= response.status_code < 500
    return _envelope.parse_envelope(response, secret=secret, maybe_accepted=not refused)


def poll_url(task_id: str, prediction: Prediction | None, base_url: str) -> str:
    """Where to poll: the task's own ``urls.get`` when it is on the API's origin (as
    WaveSpeed's docs show), else the result endpoint every official client uses.

    Example:
        >>> poll_url("t1", None, "https://api.wavespeed.ai")
        'https://api.wavespeed.ai/api/v3/predictions/t1/result'
    """
    given = prediction.urls.get("get", "") if prediction is not None else ""
    if given and task_id in given and url_origin(given) == url_origin(base_url):
        return given
    return base_url + result_path(task_id)
