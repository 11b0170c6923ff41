"""Settling a submit whose fate is unknown (a 5xx answer, a dropped connection, a crash
between "forwarding" and the upstream's answer) against WaveSpeed's own record: the
account's prediction history (``POST /api/v3/predictions`` with a time window).

The rule is the cautious one: a task is refunded only when the history answered in full
for the window and holds no prediction that could be it; a prediction with exactly its
model, prompt, size and seed (the gateway always sends a concrete seed) that no other task
of the class owns is taken as it, then fetched and charged like any other; anything the
gateway cannot tell apart (a history item without its input) keeps the task pending.

Example:
    >>> verdict([], GenerationRequest("a fox", 320, 256, 7), owned=set())
    ('none', None)
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from klein_widget.client._models import GenerationRequest
from klein_widget.gateway._rows import Inputs
from klein_widget.gateway._upstream import Upstream

__all__ = ["HISTORY_PATH", "Verdict", "history", "verdict"]

_log = logging.getLogger(__name__)
HISTORY_PATH = "/api/v3/predictions"
_PAGE = 100
_MAX_PAGES = 50  # 5,000 predictions in one window: far more than one class makes
SLACK = timedelta(minutes=2)  # clocks differ: widen the window both ways

Verdict = tuple[Literal["found", "none", "unsure"], str | None]


async def history(upstream: Upstream, after: datetime, before: datetime) -> list[Any] | None:
    """Every prediction of the account created in ``[after, before]`` (widened by
    `SLACK`), or None if the history could not be read in full (try again later)."""
    url = upstream.client.base_url + HISTORY_PATH
    items: list[Any] = []
    for page in range(1, _MAX_PAGES + 1):
        body = {
            "page": page,
            "page_size": _PAGE,
            "created_after": (after - SLACK).isoformat(),
            "created_before": (before + SLACK).isoformat(),
        }
        try:
            # The key goes only in the header, to the upstream's own origin.
            headers = upstream.client._headers(auth=True)
            answer = await upstream.http.post(url, json=body, headers=headers, timeout=30.0)
            data = answer.json().get("data") if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            _log.warning("prediction history unreadable: %s", type(error).__name__)
            return None
        found = data.get("items") if isinstance(data, dict) else None
        if not isinstance(found, list):
            _log.warning("prediction history: HTTP %s, no list of items", answer.status_code)
            return None
        items += found
        if len(found) < _PAGE:
            return items
    return None  # more than we can read: stay pending rather than guess


def _same_input(item: dict[str, Any], request: GenerationRequest, inputs: Inputs) -> bool | None:
    """Whether a history item was made from ``request`` (None: it does not say). An edit
    sent without a size matches whatever size upstream chose; its images must agree."""
    given = item.get("input")
    if not isinstance(given, dict) or "prompt" not in given:
        return None
    size = f"{request.width}*{request.height}"
    sent = str(given.get("size", "1024*1024")).replace("x", "*")
    return (
        given.get("prompt") == request.prompt
        and (sent == size or not inputs.sized)
        and given.get("seed") == request.seed
        and given.get("images", list(inputs.images)) == list(inputs.images)
    )


def verdict(
    items: list[Any], request: GenerationRequest, owned: set[str], inputs: Inputs | None = None
) -> Verdict:
    """("found", id) if exactly one unowned prediction of the task's model (``inputs``;
    default 4B) matches ``request``; ("none", None) if none can; ("unsure", None) if an
    item cannot be told apart, or two match."""
    inputs = inputs or Inputs()
    matches: list[str] = []
    unsure = False
    for item in items:
        if not isinstance(item, dict) or item.get("id") in owned:
            continue
        if item.get("model") not in (None, inputs.klein_model.id):
            continue
        same = _same_input(item, request, inputs)
        if same is None:
            unsure = True
        elif same:
            matches.append(str(item.get("id")))
    if len(matches) == 1:
        return "found", matches[0]
    if matches or unsure:
        return "unsure", None
    return "none", None
