"""Where the gateway sends its students' images: WaveSpeed, any base URL, or the built-in
emulator (in-process, for rehearsal and tests), always through the package's own
`AsyncKleinClient`, so the money rules are the client's: a submit is sent at most once, only
a 429 (or a connection never made) allows another, and every error after acceptance
carries the upstream task id. Its journal is the gateway's `Gallery`, so every image paid for
is on disk before a student sees it.

Example:
    >>> link = Upstream.connect("emulator", gallery=None, api_key=None)  # doctest: +SKIP
    >>> link.origin  # doctest: +SKIP
    'http://emulator.invalid'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp

from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import DEFAULT_BASE_URL, url_origin
from klein_widget.client._constants import POOL_LIMITS
from klein_widget.client._policy import RetryPolicy
from klein_widget.client._transport import shared_ssl_context
from klein_widget.client.batch._pacing import RateLimit
from klein_widget.store._gallery import Gallery

__all__ = ["EMULATOR_ORIGIN", "Upstream"]

EMULATOR_ORIGIN = "http://emulator.invalid"  # the in-process emulator's name (never resolved)
UNPACED = RateLimit(1_000_000)  # far above any tier: the gateway's dispatcher paces instead


@dataclass
class Upstream:
    """The client the gateway forwards through, and what it talks to."""

    client: AsyncKleinClient
    origin: str
    label: str  # for people: "WaveSpeed", "the built-in emulator", a URL
    http: httpx.AsyncClient
    app: ASGIApp | None = None  # the in-process emulator, when there is one

    @classmethod
    def connect(
        cls,
        upstream: str | ASGIApp,
        *,
        gallery: Gallery | None,
        api_key: str | None,
        retry: RetryPolicy | None = None,
        emulator_inference_time: float = 0.6,
    ) -> Upstream:
        """``upstream``: ``"emulator"``, ``"wavespeed"``, a base URL, or an ASGI app.

        ``api_key`` is the teacher's key (``$WAVESPEED_API_KEY`` when None); it is only
        ever put in the Authorization header of requests to ``upstream``.
        """
        app: ASGIApp | None = None
        if upstream == "emulator":
            from klein_widget.emulator import create_app

            app = create_app(inference_time=emulator_inference_time)
        elif not isinstance(upstream, str):
            app = upstream
        if app is not None:
            http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), limits=POOL_LIMITS)
            base_url, label = EMULATOR_ORIGIN, "the built-in emulator"
        else:
            assert isinstance(upstream, str)
            base_url = DEFAULT_BASE_URL if upstream == "wavespeed" else upstream.rstrip("/")
            if not url_origin(base_url):
                raise ValueError(
                    f"--upstream must be 'emulator' or an http(s) URL, not {upstream!r}"
                )
            http = httpx.AsyncClient(limits=POOL_LIMITS, verify=shared_ssl_context())
            label = "WaveSpeed" if base_url == DEFAULT_BASE_URL else base_url
        client = AsyncKleinClient(
            api_key,
            base_url,
            http_client=http,
            journal=gallery,
            gallery=gallery if gallery is not None else False,
            timeout=600.0,  # one image's whole wait upstream
            retry=retry,
            # No slow start: the client's pacer would send one submit and wait for its
            # answer before the next, so one hanging submit held back the whole class.
            # How much goes upstream is the dispatcher's (its AIMD limit, a 429's pause).
            rate_limit=UNPACED,
        )
        return cls(client, url_origin(base_url), label, http, app)

    @property
    def simulated(self) -> bool:
        """True if the upstream bills nothing: the built-in emulator, or as the client's one
        rule has it (what the upstream said in its answers, else loopback means emulator)."""
        return self.app is not None or self.client.server_simulates

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """``POST`` ``body`` to upstream's ``path`` (an upload ticket, the prediction
        history) with the teacher's key, which goes in this request's header, to the
        upstream's own origin, and nowhere else."""
        headers = self.client._headers(True)  # the client's one place that sets the key
        url = self.client.base_url + path
        return await self.http.post(url, json=body, headers=headers, timeout=30.0)

    def says_key(self, text: str) -> bool:
        """Whether ``text`` (an upstream answer to pass on to a student) holds the teacher's
        key: such an answer is never passed on."""
        key = self.client._headers(True).get("Authorization", "").removeprefix("Bearer ")
        return bool(key) and key in text

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()
