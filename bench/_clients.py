"""The contenders: one image, prompt to bytes in hand, made by each client the same way.

Every maker is ``make(seed) -> bytes``, built once and reused across images the way a
user's code reuses its client (klein_widget learns the inference time as it goes).

- klein_widget with its defaults (``PollSchedule()``), polling or ``sync_mode``;
- the official ``wavespeed`` SDK with its defaults (``Client.run`` polls every 1.0 s),
  then the download of the output URL with ``requests`` (the SDK's own dependency);
- a floor: a bare ``httpx.Client`` sending one sync-mode POST and one GET on kept-alive
  connections, the least any client can do.

Example:
    >>> with Makers(base_url) as makers:  # doctest: +SKIP
    ...     png = makers.get("klein_widget polling")(seed=1)
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import requests
import wavespeed  # type: ignore[import-untyped]

from bench._config import PROMPT, SIZE
from klein_widget import KleinClient
from klein_widget.client._models import MODEL_ID

API_KEY = "bench-key"  # the emulator accepts any non-empty key

Maker = Callable[[int], bytes]

KLEIN_POLL = "klein_widget polling"
KLEIN_SYNC = "klein_widget sync_mode"
KLEIN_GALLERY = "klein_widget polling + gallery"
OFFICIAL_POLL = "wavespeed SDK run()"
OFFICIAL_SYNC = "wavespeed SDK run(sync)"
FLOOR = "floor: bare httpx sync POST + GET"


def sdk_input(seed: int, size: int = SIZE) -> dict[str, Any]:
    """The official SDK's input for one image (the same request klein_widget sends)."""
    return {"prompt": PROMPT, "size": f"{size}*{size}", "seed": seed}


def official(base_url: str, *, sync: bool = False, size: int = SIZE) -> Maker:
    """``wavespeed.Client(...).run(...)`` with its defaults, then ``requests.get`` the URL."""
    client = wavespeed.Client(api_key=API_KEY, base_url=base_url)

    def make(seed: int) -> bytes:
        output = client.run(MODEL_ID, sdk_input(seed, size), enable_sync_mode=sync)
        response = requests.get(output["outputs"][0], timeout=60)
        response.raise_for_status()
        return response.content

    return make


def klein(
    client: KleinClient, *, sync: bool = False, base64: bool = False, size: int = SIZE
) -> Maker:
    """``KleinClient.generate`` (it downloads the image itself, unless it came inline)."""

    def make(seed: int) -> bytes:
        generation = client.generate(
            PROMPT, width=size, height=size, seed=seed, sync_mode=sync, base64_output=base64
        )
        return generation.image

    return make


def inline_post(http: httpx.Client, url: str, payload: dict[str, Any]) -> bytes:
    """One sync-mode POST of ``payload`` with the image inline (base64): its bytes."""
    body = {**payload, "enable_sync_mode": True, "enable_base64_output": True}
    answer = http.post(url, json=body, headers={"Authorization": f"Bearer {API_KEY}"})
    return base64.b64decode(answer.raise_for_status().json()["data"]["outputs"][0])


def floor(http: httpx.Client, base_url: str) -> Maker:
    """One sync-mode POST and one GET on kept-alive connections, nothing else."""
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def make(seed: int) -> bytes:
        body = {**sdk_input(seed), "enable_sync_mode": True}
        answer = http.post(f"{base_url}/api/v3/{MODEL_ID}", json=body, headers=headers)
        url = answer.raise_for_status().json()["data"]["outputs"][0]
        return http.get(url).raise_for_status().content

    return make


class Makers:
    """Every maker against one server; closes the clients it opened."""

    def __init__(self, base_url: str, gallery: Path | None = None) -> None:
        self.base_url = base_url
        # klein_widget's own figures use PollSchedule() defaults: what users get.
        self._plain = KleinClient(API_KEY, base_url, gallery=False)
        self._sync = KleinClient(API_KEY, base_url, gallery=False)
        self._with_gallery = KleinClient(API_KEY, base_url, gallery=gallery or False)
        self._http = httpx.Client()
        self.makers: dict[str, Maker] = {
            KLEIN_POLL: klein(self._plain),
            KLEIN_SYNC: klein(self._sync, sync=True),
            OFFICIAL_POLL: official(base_url),
            OFFICIAL_SYNC: official(base_url, sync=True),
            FLOOR: floor(self._http, base_url),
        }
        if gallery is not None:
            self.makers[KLEIN_GALLERY] = klein(self._with_gallery)

    def get(self, name: str) -> Maker:
        return self.makers[name]

    def close(self) -> None:
        for client in (self._plain, self._sync, self._with_gallery):
            client.close()
        self._http.close()

    def __enter__(self) -> Makers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
