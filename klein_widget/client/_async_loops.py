"""The async client's I/O loops (send, sleep, await), and nothing else: a request held
to its deadline and its size cap, a submit retried only when surely not taken, a free
request (a poll, a download, an upload's step) retried within the call's deadline, polls,
and the download. The source of the blocking `_sync_loops` (``python scripts/unasync.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import httpx

from klein_widget.client import _envelope
from klein_widget.client._answers import (
    buffered,
    image_or_url,
    image_parser,
    poll_url,
    result_parser,
)
from klein_widget.client._base import BaseClient
from klein_widget.client._constants import (
    MAX_IMAGE_BYTES,
    MAX_JSON_BYTES,
)
from klein_widget.client._deadline import AsyncDeadline
from klein_widget.client._disk import DiskThread
from klein_widget.client._exceptions import KleinError
from klein_widget.client._family_rules import charge_for
from klein_widget.client._generation import Generation
from klein_widget.client._models import (
    GenerationRequest,
    Prediction,
)
from klein_widget.client._policy import check_body, request_timeout
from klein_widget.client._run import Run, given_up, stage_of

T = TypeVar("T")


class AsyncLoops(BaseClient):
    """The loops `AsyncKleinClient`'s calls run (its connection pool and sleep are set by
    the client's constructor)."""

    _http: httpx.AsyncClient
    _sleep: Callable[[float], Awaitable[None]]
    _disk: DiskThread

    async def _send(
        self,
        method: str,
        url: str,
        *,
        during: str,
        deadline: float,
        auth: bool = True,
        foreign: bool = False,
        limit: int = MAX_JSON_BYTES,
        long_read: bool = False,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request, its body streamed under ``limit`` bytes and held to ``deadline``
        as a whole (`_deadline`), not only read by read. ``auth``: with the key (the API's
        own origin); ``foreign``: to another host (the upload host), with exactly
        ``headers`` and no key, whatever the pool's defaults say.

        Redirects are followed for GETs only (a submit is never re-sent elsewhere), one hop
        at a time: each hop's timeouts are what is left of ``deadline`` when it starts and
        the overall deadline watches each hop, so a chain of slow hops ends at the deadline
        too (httpx's own following sets every hop's timeouts at the start of the chain).
        """
        sent = {} if foreign else self._headers(auth)
        request = self._http.build_request(
            method, url, json=json, content=content, headers={**sent, **(headers or {})}
        )
        if foreign:
            for name in ("authorization", "proxy-authorization", "cookie"):
                if name not in {h.lower() for h in headers or {}}:
                    request.headers.pop(name, None)
        try:
            async with AsyncDeadline(deadline - self._clock()) as overall:  # not only per read
                for hop in range(self._http.max_redirects + 1):
                    if hop and self._clock() >= deadline:
                        # A fast redirect loop would otherwise go on past the deadline: each
                        # hop gets a 1 ms timeout, but a loopback answer beats even that.
                        raise httpx.ReadTimeout(f"still redirected at the deadline ({during})")
                    timeout = request_timeout(deadline - self._clock(), long_read=long_read)
                    request.extensions["timeout"] = timeout.as_dict()
                    response = await self._http.send(
                        request,
                        # As httpx: the pool's own auth on the first hop only; never abroad.
                        auth=None if hop or foreign else httpx.USE_CLIENT_DEFAULT,
                        stream=True,
                        follow_redirects=False,
                    )
                    try:
                        overall.watch(response)
                        # A hop's body too (capped): read to its end, its connection is kept.
                        body = await self._body(response, limit, deadline, during)
                    finally:
                        await response.aclose()
                    following = response.next_request if method == "GET" else None
                    if following is None:
                        return buffered(response, body)
                    request = following
            raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
        except httpx.RequestError as exc:  # transport, redirect loops, undecodable bodies
            raise _envelope.connection_error(exc, during=during, secret=self._api_key) from None

    async def _body(
        self, response: httpx.Response, limit: int, deadline: float, during: str
    ) -> bytes:
        """``response``'s whole body, streamed under ``limit`` bytes and ``deadline``. A body
        that has all arrived is kept however late it is read (a starved process reads late):
        a submit's answer is a paid task's id."""
        chunks: list[bytes] = []  # joined once at the end: no regrowing buffer
        size = 0
        length = response.headers.get("content-length", "")
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            arriving = str(response.num_bytes_downloaded) != length
            late = arriving and self._clock() > deadline
            check_body(size, limit, past_deadline=late, during=during)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _post(
        self, path: str, body: dict[str, Any], run: Run, *, paced: bool = False
    ) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            while paced and (pause := self._pace(run)) > 0:  # the account's rate limit
                await self._sleep(pause)
            try:
                self._time_to_submit(run)  # in the try: a paced slot claimed is given back
                run.sent = self._clock()
                response = await self._send(
                    "POST",
                    self._url(path),
                    json=body,
                    during="submit",
                    auth=True,
                    deadline=run.deadline,
                    long_read=bool(body.get("enable_sync_mode")),
                )
                self._check_submit_rate_limit(response)
            except BaseException as error:
                if paced:
                    self._paced(error)
                if not isinstance(error, KleinError):
                    raise
                delay = self._retry_delay(error, attempt, run.deadline, submit=True, run=run)
                if delay is None:
                    raise
                await self._sleep(delay)
                continue
            self._submitted(run, paced=paced, sync=bool(body.get("enable_sync_mode")))
            return response

    async def _read(
        self,
        url: str,
        parse: Callable[[httpx.Response], T],
        *,
        during: str,
        run: Run,
        give_up: Callable[[KleinError], KleinError],
        method: str = "GET",
        limit: int = MAX_JSON_BYTES,
        foreign: bool = False,
        json: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> T:
        """A request that costs nothing to repeat (a poll, a download, an upload's step),
        tried again while the policy and ``run``'s deadline allow; then ``give_up`` says
        what to raise."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(
                    method, url, during=during, deadline=run.deadline, auth=self._same_origin(url),
                    foreign=foreign, limit=limit, json=json, content=content, headers=headers,
                )  # fmt: skip
                return parse(response)
            except KleinError as error:
                delay = self._retry_delay(error, attempt, run.deadline)
                if delay is None:
                    raise give_up(error) from None
                await self._sleep(delay)

    async def _submit(
        self, request: GenerationRequest, run: Run, body: dict[str, Any], model: str | None = None
    ) -> Prediction:
        """Send the submit once (retried only when surely not taken) to ``request``'s model
        (``model``: the prompt optimizer's id), its price reserved first."""
        charge = charge_for(request, self._ledger, model)
        run.report("submitting", note=self._asking_note(request))
        token = self._ledger.reserve(charge.mills, charge.kind, confirmed=charge.confirmed)
        try:
            response = await self._post(charge.path, body, run, paced=charge.paced)
        except BaseException as error:  # a cancel may come after the server took it
            self._settle(token, error)
            raise
        outcome = self._accepted(request, response, token)
        if token.kind == "image":  # an enhancement is no image: never journaled as one
            # The journal's disk work: awaited, in a worker thread, so the loop never waits.
            await self._disk.run(self._journal_submitted, request, outcome)
        if isinstance(outcome, KleinError):
            raise outcome
        run.report("submitted", outcome)
        return outcome

    async def _wait(self, task_id: str, run: Run, accepted: Prediction | None = None) -> Prediction:
        pauses = self._poll_pauses(run, task_id)
        parse = result_parser(task_id, self._api_key)
        give_up = partial(given_up, task_id=task_id, run=run)
        url = poll_url(task_id, accepted, self.base_url)
        if run.sent is not None:  # just submitted: no poll before the expected finish
            await self._sleep(next(pauses))
        while True:
            prediction = await self._read(url, parse, during="polling", run=run, give_up=give_up)
            if prediction.done:
                return prediction
            run.report(stage_of(prediction), prediction)
            await self._sleep(next(pauses))

    async def _complete(
        self, request: GenerationRequest, prediction: Prediction, run: Run
    ) -> Generation:
        self._refund_if_failed(prediction)
        image, url = image_or_url(prediction, self.base_url)
        if image is not None and not request.base64_output:
            # The bytes are in `image` now: kept once, not a second time as base64 text.
            prediction = dataclasses.replace(prediction, outputs=())
        run.report("downloading", prediction)
        if image is None:
            download = self._download_run(run)
            image = await self._read(
                url,
                image_parser(prediction.id, self._api_key),
                during="download",
                run=download,
                give_up=partial(given_up, task_id=prediction.id, run=download),
                limit=MAX_IMAGE_BYTES,
            )
        generation = self._finish(request, prediction, image, run)
        generation = await self._disk.run(self._journal_completed, generation)
        run.report("done", prediction)
        return generation
