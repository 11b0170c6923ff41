"""Benchmark 7's edit rows: one edit over a network (issue 24), against its physical limit.

An edit uploads its reference first (WaveSpeed's protocol: a ticket from ``POST
/api/v3/media/uploads``, then a ``PUT`` of the bytes to the ticket's URL), then submits,
polls and downloads as ``generate()`` does. Its physical limit is inference + the upload +
1 RTT, measured in the same process as a bare httpx client's ticket, PUT and one sync-mode,
base64 edit POST on kept-alive connections (the least any client can do). The emulator
serves the upload with the same simulated round trip as every other request.

Every measured edit has a reference of its own: a client uploads each distinct image once,
and a user who edits a new picture pays for its upload. References are photo-weight JPEGs
of the latency size, made before the clock starts.

Example:
    >>> make = klein_edit(client, references(3, 512, salt=1))  # doctest: +SKIP
    >>> make(7)[:4]  # doctest: +SKIP
    b'\\x89PNG'
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
from PIL import Image, ImageDraw

from bench._clients import API_KEY, Maker, inline_post
from klein_widget import KleinClient
from klein_widget.client._family import resolve_model

EDIT = "klein_widget edit(): upload + submit + poll + download"
EDIT_LIMIT = "edit limit: bare httpx upload + sync+base64 edit POST"
EDIT_PROMPT = "make it night, the sky deep blue, keep the fox"
EDIT_MODEL = resolve_model("4b", edit=True)
GRAIN = 24  # sigma of the noise that makes a drawing weigh what a photo does as a JPEG


def references(count: int, size: int, *, salt: int) -> Iterator[bytes]:
    """``count`` distinct photo-weight JPEGs of ``size`` x ``size``, one per edit."""
    made = []
    for index in range(count):
        grain = Image.effect_noise((size, size), GRAIN).convert("RGB")
        picture = Image.blend(Image.new("RGB", (size, size), (200, 120, 60)), grain, 0.5)
        stamp = (salt * 7919 + index * 104729) % (1 << 24)  # a colour of its own: a new hash
        ImageDraw.Draw(picture).rectangle((0, 0, 15, 15), fill=stamp)
        out = io.BytesIO()
        picture.save(out, format="JPEG", quality=90)
        made.append(out.getvalue())
    return iter(made)


def klein_edit(client: KleinClient, pool: Iterator[bytes]) -> Maker:
    """``KleinClient.edit`` of the next reference of ``pool`` (uploaded, then edited)."""

    def make(seed: int) -> bytes:
        return client.edit(EDIT_PROMPT, [next(pool)], seed=seed).image

    return make


def bare_edit(http: httpx.Client, base_url: str, pool: Iterator[bytes]) -> Maker:
    """The limit: a ticket, a PUT and one sync-mode base64 edit POST, nothing else."""
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def make(seed: int) -> bytes:
        reference = next(pool)
        about = {"filename": "reference.jpg", "size": len(reference), "content_type": "image/jpeg"}
        ticket = http.post(f"{base_url}/api/v3/media/uploads", json=about, headers=headers)
        data = ticket.raise_for_status().json()["data"]
        upload = data["upload"]
        http.put(upload["url"], content=reference, headers=upload["headers"]).raise_for_status()
        payload = {"prompt": EDIT_PROMPT, "images": [data["download_url"]], "seed": seed}
        return inline_post(http, f"{base_url}{EDIT_MODEL.path}", payload)

    return make
