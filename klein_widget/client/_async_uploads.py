"""The async client's uploads and price look-up, over its loops (`AsyncLoops`).

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
from collections.abc import Sequence
from functools import partial
from typing import Any

from anyio import Lock

from klein_widget.client import _envelope
from klein_widget.client._async_loops import AsyncLoops
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
    price_mills,
    read_ticket,
    ticket_body,
    upload_failed,
)

_log = logging.getLogger(__name__)


class AsyncUploads(AsyncLoops):  # the I/O loops: `_async_loops`
    """Uploads and the price look-up, for `AsyncKleinClient`."""

    _uploaded: dict[str, str]  # sha256 -> the download URL of what this client uploaded
    # A lock per sha256, so two calls uploading the same image at once upload it once.
    _upload_locks: dict[str, Lock]

    # --- the prices (the ledger's book) -----------------------------------------------------

    @property
    def prices(self) -> PriceBook:
        """Each model's price as this client knows it, corrected by `model_price` (the
        ledger's book, shared by the clients sharing it)."""
        return self._ledger.prices

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
        lock = self._upload_locks.setdefault(reference.sha256, Lock())  # setdefault: atomic
        async with lock:
            url = self._uploaded.get(reference.sha256)
            if url is None:
                url = await self._upload(reference, number, run)
                self._uploaded[reference.sha256] = url
        return url

    async def _upload(self, reference: Reference, number: int, run: Run) -> str:
        """Upload one reference's bytes; its download URL. Each step is free to repeat."""
        give_up = partial(upload_failed, number=number, run=run)
        answer = await self._read(
            self._url(UPLOAD_PATH),
            partial(_envelope.parse_envelope, secret=self._api_key),
            during="upload",
            run=run,
            give_up=give_up,
            method="POST",
            limit=MAX_UPLOAD_ANSWER,
            json=ticket_body(reference),
        )
        ticket = read_ticket(answer, number, self._api_key)  # a bogus one is not retried
        await self._read(
            ticket.url,
            partial(check_put, number=number, secret=self._api_key),
            during="upload",
            run=run,
            give_up=give_up,
            method="PUT",
            limit=MAX_UPLOAD_ANSWER,
            foreign=True,
            content=reference.data,
            headers=ticket.headers,
        )
        return ticket.download_url

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
            response = await self._send(
                "POST",
                self._url(PRICE_PATH),
                during="price look-up",
                deadline=deadline,
                limit=MAX_UPLOAD_ANSWER,
                json=body,
            )
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
