"""The students' upload and price routes, and the content hash of an edit's references.

* ``POST /api/v3/media/uploads`` (class token): a ticket from upstream, asked with the
  teacher's key and answered as upstream gave it; the ``PUT`` then goes straight to the
  storage URL with no key. Free, but capped per student (`UploadLimits`): 413 for a file
  over the size cap, 429 with Retry-After past the hourly counts.
* ``POST /api/v3/model/price`` (class token): what this gateway charges for a model
  (`Gateway.price`), answered here (nothing goes upstream on a student's say, so no key
  can leak): a known price, or the family's highest known price while unconfirmed
  (``price_confirmed`` false), in the emulator's shape.
* Rehearsing on the built-in emulator (in-process, so its storage has no address of its
  own), the tickets' URLs are the gateway's, and `rehearsal` passes the PUT and the
  download to it.

`reference_hashes` keys an edit's images by content (see `_uploads`).

Example:
    >>> keys, sent = await reference_hashes(gateway, ("https://cdn.example/a",))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from klein_widget.client._family import MODELS, find_model
from klein_widget.client._family_inputs import url_sha256
from klein_widget.gateway._auth import authorize
from klein_widget.gateway._conn import route_path
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.gateway._upstream import EMULATOR_ORIGIN
from klein_widget.serving._http import Problem, envelope, read_json
from klein_widget.serving._wire import price_data, read_ticket_body

__all__ = [
    "REHEARSAL_FILES",
    "REHEARSAL_UPLOADS",
    "model_price",
    "reference_hashes",
    "rehearsal",
    "ticket",
]

# The built-in emulator's storage paths (klein_widget/emulator/_uploads.py), served here
# when it runs in-process: a student's PUT and a download reach it through the gateway.
REHEARSAL_UPLOADS = "/emulator/uploads/"
REHEARSAL_FILES = "/emulator/files/"
NO_TICKET = (
    "WaveSpeed gave the class gateway no upload ticket ({}): nothing was charged; try "
    "again, or tell your teacher if it goes on."
)


def _checked_ticket(answer: httpx.Response) -> dict[str, Any]:
    """Upstream's ticket, in the shape the SDK reads, or a 502 `Problem` (never its text:
    it is another server's, and says nothing the student can act on)."""
    try:
        data = answer.json().get("data") if answer.status_code == 200 else None
    except ValueError:
        data = None
    upload = data.get("upload") if isinstance(data, dict) else None
    if (
        not isinstance(upload, dict)
        or not isinstance(upload.get("url"), str)
        or not isinstance(data, dict)
        or not isinstance(data.get("download_url"), str)
    ):
        raise Problem(502, NO_TICKET.format(f"HTTP {answer.status_code}"))
    return data


def _rehearsal_url(url: str, base: str) -> str:
    """The in-process emulator's URL as the gateway serves it (others unchanged)."""
    return base + url[len(EMULATOR_ORIGIN) :] if url.startswith(EMULATOR_ORIGIN + "/") else url


def _emulator_url(gateway: Gateway, url: str) -> str:
    """An upload this gateway handed out, as its in-process emulator names it (`_rehearsal_url`
    undone: the student's URL carries the gateway's address and, under the Hub, its prefix,
    which the emulator does not serve); unchanged on a gateway to WaveSpeed."""
    path = urlsplit(url).path
    if gateway.upstream.app is None or REHEARSAL_FILES not in path:
        return url
    return EMULATOR_ORIGIN + path[path.index(REHEARSAL_FILES) :]


async def ticket(request: Request) -> Response:
    """``POST /api/v3/media/uploads``: a ticket for one file, from upstream (free)."""
    student = await authorize(request)
    gateway = gateway_of(request)
    desk = gateway.uploads
    body = await read_json(request, gateway.max_body_bytes)
    asked = read_ticket_body(body, desk.limits.max_bytes, server=" for the class gateway")
    why = desk.admit(student.name, asked["size"])
    if why is not None:
        wait = str(desk.wait(student.name))
        raise Problem(429, f"Too many uploads: {why}. Try again later.", {"Retry-After": wait})
    try:
        answer = await gateway.upstream.post("/api/v3/media/uploads", asked)
    except httpx.HTTPError as error:
        raise Problem(502, NO_TICKET.format(type(error).__name__)) from None
    data = _checked_ticket(answer)
    if gateway.upstream.says_key(answer.text):  # a ticket is passed on whole: never with it
        raise Problem(502, NO_TICKET.format("its answer held the class's key"))
    base = str(request.base_url).rstrip("/")
    if gateway.upstream.app is not None:  # rehearsal: the storage is reached through us
        data["upload"]["url"] = _rehearsal_url(data["upload"]["url"], base)
        data["download_url"] = _rehearsal_url(data["download_url"], base)
    await gateway.run(gateway.db.record_upload, data["download_url"], student.name)
    return JSONResponse(envelope(data))


async def model_price(request: Request) -> Response:
    """``POST /api/v3/model/price``: ``{"model_id", "inputs"}`` → what this gateway charges."""
    await authorize(request)
    gateway = gateway_of(request)
    body = await read_json(request, gateway.max_body_bytes)
    model_id = body.get("model_id")
    model = find_model(model_id) if isinstance(model_id, str) else None
    if model is None:
        known = ", ".join(m.id for m in MODELS)
        shown = model_id[:80] if isinstance(model_id, str) else model_id
        raise Problem(404, f"Model {shown!r} not found: this gateway serves {known}.")
    mills, confirmed = gateway.price(model)
    source = model.price_source if model.price_confirmed else "WaveSpeed's price endpoint"
    if not confirmed:
        source = (
            f"{model.price_source}: the family's highest known price, reserved from your budget"
        )
    data = price_data(
        model, mills, confirmed=confirmed, source=source, simulated=gateway.upstream.simulated
    )
    return JSONResponse(envelope(data))


async def _read_upload(gateway: Gateway, url: str, i: int) -> bytes:
    """The file behind an issued download URL, within the size cap and the deadline."""
    limits = gateway.uploads.limits
    where = f"images[{i}]"
    body = bytearray()
    url = _emulator_url(gateway, url)

    async def read() -> int:
        # No key: the storage is another host (the teacher's key goes only to the API).
        async with gateway.upstream.http.stream("GET", url, timeout=limits.fetch_timeout) as got:
            if got.status_code == 200:
                async for chunk in got.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > limits.max_bytes:
                        raise Problem(400, f"{where} is larger than {limits.max_bytes} bytes.")
            return got.status_code

    try:
        status = await asyncio.wait_for(read(), limits.fetch_timeout)
    except (httpx.HTTPError, asyncio.TimeoutError) as error:
        raise Problem(
            400, f"{where}: the class gateway could not read its upload ({type(error).__name__})."
        ) from None
    if status != 200:
        raise Problem(
            400,
            f"{where}: its upload answers HTTP {status}: finish the upload's PUT (or upload "
            "the image again) before asking for the edit. Nothing was charged.",
        )
    return bytes(body)


async def reference_hashes(
    gateway: Gateway, images: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sha256 of each edit image, in order, and the URLs to send upstream: an upload
    this gateway issued is read once (then remembered by URL, in the class database) and
    sent as upstream names it (`_emulator_url`); any other URL is keyed by its text, as the
    client keys a URL it was given (the gateway fetches nothing a student names: no
    requests into its own network on a student's say), and sent as it is."""
    hashes, sent = [], []
    for i, url in enumerate(images):
        ours, known = await gateway.run(gateway.db.upload, url)
        if ours and known is None:
            known = hashlib.sha256(await _read_upload(gateway, url, i)).hexdigest()
            await gateway.run(gateway.db.set_upload_hash, url, known)
        hashes.append(known or url_sha256(url))
        sent.append(_emulator_url(gateway, url) if ours else url)
    return tuple(hashes), tuple(sent)


async def rehearsal(request: Request) -> Response:
    """``PUT /emulator/uploads/{token}`` and ``GET /emulator/files/{token}/{name}`` on a
    rehearsal gateway: the upload and the uploaded file, passed to the in-process emulator
    (which refuses a PUT carrying a key, as WaveSpeed's storage host would never get one)."""
    gateway = gateway_of(request)
    if gateway.upstream.app is None:
        raise Problem(404, "Not found: this gateway's uploads go to WaveSpeed's storage.")
    headers = {k: v for k, v in request.headers.items() if k in ("content-type", "authorization")}
    url = EMULATOR_ORIGIN + route_path(request.scope)  # without the Hub's prefix
    put = request.method == "PUT"  # else a GET (or its HEAD: asked as a GET)
    content = await request.body() if put else None  # capped by BodyLimit
    method = "PUT" if put else "GET"
    answer = await gateway.upstream.http.request(method, url, content=content, headers=headers)
    kind = answer.headers.get("content-type")
    return Response(answer.content, status_code=answer.status_code, media_type=kind)
