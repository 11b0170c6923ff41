"""`AsyncKleinClient`: its arguments and its calls that make an image; the calls on a task
by its id are in `_async_tasks`, the I/O loops they all run in `_async_loops`.

Every decision (validation, error mapping, retry, poll schedule, budget, journal) is in
`_base.BaseClient`, `_answers` and the pure policy modules. This file is the source of
the blocking `KleinClient` too: ``python scripts/unasync.py`` writes ``_sync_client.py``
from it, and a test fails if the two differ.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import httpx

from klein_widget.client import _config, _redact
from klein_widget.client._answers import enhanced_text
from klein_widget.client._async_tasks import AsyncTasks
from klein_widget.client._constants import (
    DEFAULT_TIMEOUT,
    DOWNLOAD_GRACE,
    POOL_LIMITS,
)
from klein_widget.client._disk import DiskThread
from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._family_inputs import LoraOption
from klein_widget.client._family_rules import ImageInputs, edit_request
from klein_widget.client._generation import Generation
from klein_widget.client._journal import GalleryOption, Journal, journal_for
from klein_widget.client._ledger import Ledger
from klein_widget.client._models import (
    DEFAULT_SIDE,
    ENHANCER_MODEL_ID,
    RANDOM_SEED,
    GenerationRequest,
    enhancer_body,
)
from klein_widget.client._policy import DEFAULT_POLL, InferenceTimes, PollSchedule, RetryPolicy
from klein_widget.client._references import to_references
from klein_widget.client._run import ProgressCallback
from klein_widget.client._transport import default_async_http
from klein_widget.client.batch import _batch_async
from klein_widget.client.batch._pacing import Pacer, RateLimit, pacer_for


class AsyncKleinClient(AsyncTasks):  # submit and fetch later: `_async_tasks`
    """FLUX.2 [klein] 4B on WaveSpeed: awaited, so many generations run at once on one event loop.

    Args:
        api_key: defaults to ``$WAVESPEED_API_KEY`` (it goes nowhere but the request header).
        base_url: defaults to ``$WAVESPEED_BASE_URL``, else WaveSpeed's API.
        http_client: reuse a pool, or talk to an in-process app (Starlette's ``TestClient``,
            or ``httpx.ASGITransport`` when awaited); closed by you, not by the client.
        sleep: how the client waits between polls and retries (tests pass a fast one).
        timeout: seconds a call waits for its image (`DEFAULT_TIMEOUT`); a paid image's
            download gets ``download_grace`` more.
        max_spend: a cap in dollars on what this client (or its ``ledger``) spends.
        ledger: a spend ledger to share, and so one budget, between clients.
        journal: where paid tasks and images are recorded (a `Gallery`); wins over ``gallery``.
        gallery: a folder, True for the default place, or False for none.
        on_image: called with each image this client makes once it is journaled (the
            session keeps its history so); in the async client, from the journal's thread.
        poll: when to ask for a task's result (`PollSchedule`).
        retry: how reads are retried (`RetryPolicy`); a submit only when surely not taken.
        clock: the monotonic clock deadlines are measured on.
        rng: draws seeds for ``seed=-1`` and retry jitter.
        inline_images: let WaveSpeed send small images inline (no download round trip).
        rate_limit: images a minute to pace submits to (or a `RateLimit`, or a shared
            `Pacer`); None learns it from 429s.
        download_grace: seconds a paid image may still take to download once ``timeout``
            has passed (`DOWNLOAD_GRACE`; tests of that bound pass a short one).

    Example:
        >>> async with AsyncKleinClient() as client:  # doctest: +SKIP
        ...     gen = await client.generate("a red fox", width=768, height=512, seed=42)
        ...     gen.save("fox.png")
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timeout: float = DEFAULT_TIMEOUT,
        max_spend: float | None = None,
        ledger: Ledger | None = None,
        journal: Journal | None = None,
        gallery: GalleryOption = True,
        on_image: Callable[[Generation], None] | None = None,
        poll: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        inline_images: bool = True,
        rate_limit: int | RateLimit | Pacer | None = None,
        download_grace: float = DOWNLOAD_GRACE,
    ) -> None:
        self._api_key = _config.resolve_api_key(api_key)
        _redact.protect_logs(self._api_key)
        self.base_url = _config.resolve_base_url(base_url)
        self.timeout = timeout
        self.download_grace = download_grace
        self._ledger = ledger if ledger is not None else Ledger(max_spend)
        if ledger is not None and max_spend is not None:
            ledger.max_spend = max_spend
        self._refunded = set()
        # An explicit journal wins; else the gallery (default: $KLEIN_GALLERY or ./klein-outputs).
        self.journal = journal if journal is not None else journal_for(gallery)
        self.on_image = on_image
        self.poll = poll or DEFAULT_POLL
        self.retry = retry or RetryPolicy()
        self._clock = clock
        self._rng = rng or random.Random()
        self._inference = InferenceTimes()  # learned, for the poll schedule
        self.inline_images = inline_images
        self._round_trip = None
        self.pacer = pacer_for(rate_limit, clock)
        self._requests = OrderedDict()  # task id -> its request, for `fetch`
        self._heard = None  # see `_provenance`
        self._passed_over = OrderedDict()
        self._uploaded = {}
        self._upload_locks = {}
        self._http = http_client or default_async_http(POOL_LIMITS)
        self._owns_http = http_client is None
        self._sleep = sleep
        self._disk = DiskThread()  # the journal's calls, off the loop

    async def aclose(self) -> None:
        """Close the connection pool (if this client created it)."""
        if self._owns_http:
            await self._http.aclose()
        self._disk.close()

    async def __aenter__(self) -> AsyncKleinClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # --- the public API --------------------------------------------------------------------

    async def generate(
        self,
        prompt: str | GenerationRequest,
        *,
        width: int = DEFAULT_SIDE,
        height: int = DEFAULT_SIDE,
        seed: int = RANDOM_SEED,
        sync_mode: bool = False,
        base64_output: bool = False,
        model: str | KleinModel = DEFAULT_MODEL.name,
        loras: LoraOption = None,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        fresh: bool = False,
    ) -> Generation:
        """Make one image and return it once it is downloaded.

        ``model``: ``"4b"`` (default), ``"9b"``, ``"4b-lora"`` or a full WaveSpeed id.
        ``loras``: ``["path_or_url", ("path_or_url", scale), ...]`` (scale 0-2, default
        1), sent to the 4B LoRA endpoint. An edit's `GenerationRequest` (from a gallery
        entry) is sent as it is.

        ``seed=-1`` draws a seed here and sends it, so ``Generation.seed`` is always the
        one used. Invalid input raises `InvalidRequestError` before anything is sent.
        With a seed of your own, an image the gallery already holds for exactly this
        prompt, size and seed comes back from disk, free (``from_gallery=True``);
        ``fresh=True`` asks WaveSpeed again.
        The call ends within ``timeout`` (plus the client's ``download_grace`` for a paid
        image's download); after that the task id is in the error, to `fetch` later.

        Example:
            >>> gen = await client.generate("a lighthouse at dusk", seed=7)  # doctest: +SKIP
            >>> gen = await client.generate("a fox", model="9b", seed=7)  # doctest: +SKIP
        """
        request = self._build_request(
            prompt,
            width=width,
            height=height,
            seed=seed,
            sync_mode=sync_mode,
            base64_output=base64_output,
            model=model,
            loras=loras,
        )
        run = self._start(request, timeout, on_progress)
        made = await self._disk.run(self._already_made, request, fresh)
        if made is not None:
            run.report("done", made.prediction)
            return made
        return await self._make(request, run)

    async def edit(
        self,
        prompt: str,
        images: ImageInputs,
        *,
        model: str | KleinModel = DEFAULT_MODEL.name,
        width: int | None = None,
        height: int | None = None,
        seed: int = RANDOM_SEED,
        sync_mode: bool = False,
        base64_output: bool = False,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        fresh: bool = False,
    ) -> Generation:
        """Edit 1 to 4 reference images as ``prompt`` says ("make it night", "put the cat
        from image 1 on the sofa in image 2") and return the new image.

        ``images``: file paths, bytes, PIL images, `Generation` objects, gallery entries
        or ``http(s)`` URLs; local ones are uploaded (each distinct image once per client),
        URLs pass through. ``model``: ``"4b"`` or ``"9b"`` (that weight's edit model).
        Without ``width``/``height`` the image keeps the first reference's size. Bad input
        raises `InvalidRequestError` before anything is sent or uploaded. With a seed of
        your own, the same edit of the same images comes from the gallery, free.

        Example:
            >>> gen = await client.edit("make it night", [earlier], seed=7)  # doctest: +SKIP
        """
        references = to_references(images)
        request = self._build_request(
            edit_request(
                prompt,
                references,
                model=model,
                width=width,
                height=height,
                seed=seed,
                sync_mode=sync_mode,
                base64_output=base64_output,
            )
        )
        run = self._start(request, timeout, on_progress)
        made = await self._disk.run(self._already_made, request, fresh)
        if made is not None:
            run.report("done", made.prediction)
            return made
        urls = await self._upload_references(references, run)
        return await self._make(dataclasses.replace(request, images=urls), run)

    async def enhance_prompt(
        self, text: str, *, style: str | None = None, timeout: float | None = None
    ) -> str:
        """Rewrite a prompt with WaveSpeed's prompt optimizer ($0.001); returns the new text.

        ``style``: one of `ENHANCER_STYLES` ("anime", "photographic", ...); None leaves the
        optimizer's default.

        Example:
            >>> await client.enhance_prompt("a fox")  # doctest: +SKIP
            'A red fox standing in fresh snow at golden hour, ...'
        """
        request = self._build_request(text)
        body = enhancer_body(request.prompt, style)
        run = self._start(request, timeout, None)
        prediction = await self._submit(request, run, body, ENHANCER_MODEL_ID)
        if not prediction.done:
            prediction = await self._wait(prediction.id, run)
        return enhanced_text(prediction)

    generate_many = _batch_async.agenerate_many  # many at once: `_batch_async.agenerate_many`
    edit_many = _batch_async.aedit_many  # many edits at once: `_batch_async.aedit_many`
