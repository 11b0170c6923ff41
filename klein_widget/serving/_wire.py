"""WaveSpeed's wire format as a server writes it, once for the emulator and the gateway.

* `prediction_data`: a prediction's ``data`` (what a submit, a poll and a sync-mode answer
  carry in the envelope), in the field order WaveSpeed sends.
* `sync_timed_out`: the sync-mode timeout, as WaveSpeed answers it: HTTP 200, the task
  still ``processing``, ``data.code`` 5004 and an error saying where to poll.
* `price_data`: the price endpoint's ``data`` (``POST /api/v3/model/price``; WaveSpeed's
  shape is unconfirmed, this is both servers' one guess, read by the client's `price_mills`).
* `read_ticket_body`: an upload ticket's body (``filename``, ``size``, ``content_type``).
* `read_enhancer_body`: the prompt optimizer's body (``text``, ``mode``, ``style``,
  ``enable_sync_mode``), checked by the client's own rules (`check_prompt`, `check_style`).

Example:
    >>> data = prediction_data("http://h", "t1", "m", "processing", [],
    ...                        created_at="2026-01-02T03:04:05.000+00:00")
    >>> data["urls"]["get"], data["created_at"]
    ('http://h/api/v3/predictions/t1/result', '2026-01-02T03:04:05.000Z')
    >>> sync_timed_out(data)["code"]
    5004
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from klein_widget.client._config import result_path
from klein_widget.client._family import KleinModel
from klein_widget.client._models import check_prompt, check_style
from klein_widget.serving._http import Problem

__all__ = [
    "EnhancerBody",
    "prediction_data",
    "price_data",
    "read_enhancer_body",
    "read_ticket_body",
    "sync_timed_out",
    "wire_time",
]


def wire_time(when: datetime | str) -> str:
    """A UTC time as WaveSpeed writes it: ISO 8601 to the millisecond, ending in ``Z``."""
    text = when if isinstance(when, str) else when.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def prediction_data(
    base: str,
    task_id: str,
    model: str,
    status: str,
    outputs: Sequence[str],
    *,
    created_at: datetime | str,
    nsfw: bool = False,
    error: str = "",
    inference_ms: int | None = None,
    simulated: bool = True,
) -> dict[str, Any]:
    """A prediction's ``data`` as it stands: ``base`` is the server's URL (for
    ``urls.get``), ``error`` and ``inference_ms`` count only once the task has ended.
    ``simulated`` is not WaveSpeed's: it tells clients whether prices bill anything and
    images are real (`klein_widget.client._provenance` reads it)."""
    ended = status in ("completed", "failed")
    return {
        "id": task_id,
        "model": model,
        "outputs": list(outputs),
        "urls": {"get": base + result_path(task_id)},
        "has_nsfw_contents": [nsfw] * len(outputs),
        "status": status,
        "created_at": wire_time(created_at),
        "error": error if status == "failed" else "",
        "timings": {"inference": (inference_ms or 0) if ended else 0},
        "simulated": simulated,
    }


def sync_timed_out(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a still-processing prediction) as a sync-mode timeout: keep polling
    ``urls.get``."""
    data["code"] = 5004
    data["error"] = (
        "Sync mode timed out: the task is still processing. Query the result later at "
        f"{data['urls']['get']}"
    )
    return data


@dataclass(frozen=True)
class EnhancerBody:
    """A checked prompt-optimizer body; ``style`` None: not asked (the optimizer's default)."""

    text: str
    mode: str
    style: str | None
    sync: bool


def price_data(
    model: KleinModel, mills: int, *, confirmed: bool, source: str, simulated: bool
) -> dict[str, Any]:
    """The price endpoint's ``data``: ``mills`` for one image of ``model``, and whether that
    is a price WaveSpeed confirmed (``price_confirmed``: false means a reserve, which a
    client never takes as the price).

    Example:
        >>> from klein_widget.client._family import resolve_model
        >>> price_data(resolve_model("9b"), 16, confirmed=False, source="unconfirmed",
        ...            simulated=True)["price_confirmed"]
        False
    """
    return {
        "model_id": model.id,
        "price_mills": mills,
        "unit_price": mills / 1000,
        "currency": "USD",
        "price_source": source,
        "price_confirmed": confirmed,
        "simulated": simulated,
    }


def read_ticket_body(
    body: Mapping[str, Any], max_bytes: int, *, server: str = ""
) -> dict[str, Any]:
    """An upload ticket's body checked (the file's base name, its size, its type), or a
    `Problem` saying what to send: 413 over ``max_bytes`` (``server``: this server's
    name in that sentence, e.g. `` for the class gateway``), else 400."""
    name, size, kind = body.get("filename"), body.get("size"), body.get("content_type")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise Problem(400, 'filename is required: the file\'s name, e.g. {"filename": "a.png"}.')
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise Problem(400, f"size must be the file's length in bytes (at least 1), not {size!r}.")
    if size > max_bytes:
        raise Problem(413, f"File too large{server}: at most {max_bytes} bytes, not {size}.")
    if kind is not None and (not isinstance(kind, str) or "/" not in kind or len(kind) > 200):
        raise Problem(400, f"content_type must look like 'image/png', not {kind!r}.")
    return {"filename": name.rsplit("/", 1)[-1], "size": size, "content_type": kind}


def read_enhancer_body(body: Mapping[str, Any], modes: Sequence[str]) -> EnhancerBody:
    """The optimizer's body checked, or `ValueError` saying what to send. ``modes``: the
    ``mode`` values this server serves (WaveSpeed's: image and video)."""
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            'text is required: the prompt to improve, e.g. {"text": "a fox", '
            '"enable_sync_mode": true}.'
        )
    mode = body.get("mode", "image")
    if mode not in modes:
        raise ValueError(f"mode must be {' or '.join(map(repr, modes))}, not {mode!r}.")
    style = body.get("style")
    sync = body.get("enable_sync_mode", False)
    if not isinstance(sync, bool):
        raise ValueError(f"enable_sync_mode must be true or false, not {sync!r}.")
    return EnhancerBody(
        check_prompt(text), mode, None if style is None else check_style(style), sync
    )
