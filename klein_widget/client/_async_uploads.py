"""The async client's uploads and price look-up: a mixin of its loops (`AsyncLoops`).

`_upload_references` turns an edit's references into the URLs its ``images`` sends: a
URL the user gave passes through; local bytes go up with WaveSpeed's upload protocol
(the official SDK's ``Client.upload``: a ticket from ``POST /api/v3/media/uploads`` with
the key, then a ``PUT`` of the bytes to the ticket's URL with exactly the ticket's
headers and never the key: that URL is another host's), once per distinct image (by
sha256) per client, an edit's distinct images all at once (one by one on the blocking
client). Uploads are not billed: a ticket or a PUT that fails for a passing
reason (a connection error, 429, 5xx) is tried again within the call's deadline, which
costs nothing; a refused or failed upload raises a `KleinError` and no submit follows.

`model_price` asks WaveSpeed's price endpoint for a model's price and records it in the
client's `PriceBook` (``client.prices``, the ledger's); it never raises for an answer it
cannot read.

The source of the blocking `_sync_uploads` (``python scripts/unasync.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar, cast

import httpx
from anyio import Lock

from klein_widget.client import _envelope
from klein_widget.client._answers import buffered
from klein_widget.client._base import BaseClient
from klein_widget.client._deadline import AsyncDeadline
from klein_widget.client._exceptions import KleinError
from klein_widget.client._family import DEFAULT_MODEL, KleinModel, PriceBook, resolve_model
from klein_widget.client._references import Reference
from klein_widget.client._run import Run
from klein_widget.client._together import all_at_once
from klein_widget.client._upload_answers import (
    MAX_UPLOAD_ANSWER,
    PRICE_INPUTS,
    PRICE_PATH,
    PRICE_TIMEOUT,
    UPLOAD_PATH,
    check_put,
    in_upload,
    price_mills,
    read_ticket,
    ticket_body,
    upload_timed_out,
)

T = TypeVar("T")

_log = logging.getLogger(__name__)


class AsyncUploads(BaseClient):
    """Uploads and the price look-up, for `AsyncLoops` (its pool and sleep are set by the
    client's constructor)."""

    _http: httpx.AsyncClient
    _sleep: Callable[[float], Awaitable[None]]

    # --- state: the prices (the ledger's book), the uploads (made on first use) ---------

    @property
    def prices(self) -> PriceBook:
        """Each model's price as this client knows it, corrected by `model_price` (the
        ledger's book, shared by the clients sharing it)."""
        return self._ledger.prices

    def _uploads(self) -> tuple[dict[str, str], dict[str, Lock]]:
        """sha256 -> download URL of what this client uploaded, and a lock per sha256 so
        two calls uploading the same image at once upload it once."""
        uploaded = cast("dict[str, str]", self.__dict__.setdefault("_upload_cache", {}))
        locks = cast("dict[str, Lock]", self.__dict__.setdefault("_upload_locks", {}))
        return uploaded, locks

    # --- uploads ---------------------------------------------------------------------------

    async def _upload_references(
        self, references: Sequence[Reference], run: Run
    ) -> tuple[str, ...]:
        """The URLs an edit sends as ``images``, in order (see the module docstring): its
        distinct local images uploaded all at once."""
        firsts: dict[str, tuple[Reference, int]] = {}  # sha256 -> its first place
        for number, reference in enumerate(references, 1):
            if reference.url is None:
                firsts.setdefault(reference.sha256, (reference, number))
        urls = await all_at_once(
            [
                partial(self._upload_once, reference, number, run)
                for reference, number in firsts.values()
            ]
        )
        made = dict(zip(firsts, urls, strict=True))
        return tuple(r.url if r.url is not None else made[r.sha256] for r in references)

    async def _upload_once(self, reference: Reference, number: int, run: Run) -> str:
        """This image's URL: uploaded by this client before, or now (once, even when two
        calls ask for it at the same time)."""
        uploaded, locks = self._uploads()
        lock = locks.setdefault(reference.sha256, Lock())  # setdefault: atomic
        async with lock:
            url = uploaded.get(reference.sha256)
            if url is None:
                url = await self._upload(reference, number, run)
                uploaded[reference.sha256] = url
        return url

    async def _upload(self, reference: Reference, number: int, run: Run) -> str:
        """Upload one reference's bytes; its download URL."""
        answer = await self._upload_step(
            "POST",
            self._url(UPLOAD_PATH),
            lambda response: _envelope.parse_envelope(response, secret=self._api_key),
            number,
            run,
            json=ticket_body(reference),
        )
        ticket = read_ticket(answer, number, self._api_key)  # a bogus one is not retried
        await self._upload_step(
            "PUT",
            ticket.url,
            lambda response: check_put(response, number, self._api_key),
            number,
            run,
            content=reference.data,
            headers=ticket.headers,
            foreign=True,
        )
        return ticket.download_url

    async def _upload_step(
        self,
        method: str,
        url: str,
        parse: Callable[[httpx.Response], T],
        number: int,
        run: Run,
        *,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        foreign: bool = False,
    ) -> T:
        """One request of an upload (``foreign``: to the upload host, without the key),
        tried again (it is free) while the policy and the deadline allow."""
        attempt = 0
        while True:
            attempt += 1
            request = self._request(
                method, url, run.deadline, json=json, content=content, headers=headers,
                foreign=foreign,
            )  # fmt: skip
            try:
                response = await self._exchange(request, run.deadline, "upload", foreign=foreign)
                return parse(response)
            except KleinError as error:
                delay = self._retry_delay(error, attempt, run.deadline)
                if delay is None:
                    if self._clock() >= run.deadline:
                        raise upload_timed_out(number, run.deadline - run.started, error) from None
                    raise in_upload(error, number) from None
                await self._sleep(delay)

    def _request(
        self,
        method: str,
        url: str,
        deadline: float,
        *,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        foreign: bool = False,
    ) -> httpx.Request:
        """A request to the API's own origin, with the key; ``foreign``: to another host,
        with exactly ``headers`` and no key, whatever the pool's defaults say."""
        sent = {} if foreign else self._headers(True)
        request = self._http.build_request(
            method,
            url,
            json=json,
            content=content,
            headers={**sent, **(headers or {})},
            timeout=self._timeout(deadline),
        )
        if foreign:
            for name in ("authorization", "proxy-authorization", "cookie"):
                if name not in {h.lower() for h in headers or {}}:
                    request.headers.pop(name, None)
        return request

    async def _exchange(
        self, request: httpx.Request, deadline: float, during: str, *, foreign: bool = False
    ) -> httpx.Response:
        """Send ``request`` (no redirects) and read its answer, held to ``deadline`` as a
        whole and capped at `MAX_UPLOAD_ANSWER` bytes. ``foreign``: to another host, so
        not even the pool's own ``auth`` goes with it."""
        auth = None if foreign else httpx.USE_CLIENT_DEFAULT
        try:
            async with AsyncDeadline(deadline - self._clock()) as overall:
                response = await self._http.send(
                    request, auth=auth, stream=True, follow_redirects=False
                )
                try:
                    overall.watch(response)
                    body = await self._body(response, MAX_UPLOAD_ANSWER, deadline, during)
                finally:
                    await response.aclose()
        except httpx.RequestError as exc:  # transport, undecodable bodies
            raise _envelope.connection_error(exc, during=during, secret=self._api_key) from None
        return buffered(response, body)

    async def _body(
        self, response: httpx.Response, limit: int, deadline: float, during: str
    ) -> bytes:
        """``response``'s whole body, streamed under ``limit`` bytes and ``deadline``."""
        chunks: list[bytes] = []  # joined once at the end: no regrowing buffer
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            self._check_body(size, limit, deadline, during)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # --- prices ----------------------------------------------------------------------------

    async def model_price(
        self,
        model: str | KleinModel = DEFAULT_MODEL.name,
        inputs: dict[str, Any] | None = None,
        *,
        wait: float | None = None,
    ) -> int | None:
        """``model``'s price for one image in mills, from WaveSpeed's price endpoint
        (``POST /api/v3/model/price``), recorded in `prices` (the ledger's) and used from then on;
        None if there is no key or the endpoint does not answer usefully within ``wait``
        seconds (at most `PRICE_TIMEOUT`): any error, any shape `price_mills` cannot
        read. An unknown model name raises `InvalidRequestError`.

        Example:
            >>> await client.model_price("9b")  # doctest: +SKIP
            10
        """
        chosen = resolve_model(model)
        limit = PRICE_TIMEOUT if wait is None else min(PRICE_TIMEOUT, wait)
        if self.key_missing or limit <= 0:
            return None
        deadline = self._clock() + limit
        body = {"model_id": chosen.id, "inputs": PRICE_INPUTS if inputs is None else inputs}
        try:
            request = self._request("POST", self._url(PRICE_PATH), deadline, json=body)
            response = await self._exchange(request, deadline, "price look-up")
            data = _envelope.parse_envelope(response, secret=self._api_key)
        except KleinError as error:  # a correction, not a requirement
            _log.info("no price for %s from the price endpoint: %s", chosen.id, error.message)
            return None
        mills = price_mills(data)
        if mills is None:
            _log.info("the price endpoint's answer for %s was not read as a price", chosen.id)
            return None
        self.prices.correct(chosen, mills)
        return mills
