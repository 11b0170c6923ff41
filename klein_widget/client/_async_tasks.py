"""The async client's calls on a task by its id: `submit` one and come back later with
`get_result`, `wait` or `fetch`; and the paid half of `generate` and `edit` (`_make`, and
a batch's uploads before its submits). A mixin of `AsyncKleinClient`, over its uploads
and loops.

The source of the blocking `_sync_tasks` (``python scripts/unasync.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from klein_widget.client import _config
from klein_widget.client._answers import first_output, result_parser
from klein_widget.client._async_uploads import AsyncUploads
from klein_widget.client._constants import READ_TIMEOUT
from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._family_inputs import LoraOption
from klein_widget.client._generation import Generation
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest, Prediction
from klein_widget.client._references import Reference
from klein_widget.client._run import Run
from klein_widget.client.batch._plan import Plan


class AsyncTasks(AsyncUploads):  # uploads and prices: `_async_uploads`
    """`submit`, `get_result`, `wait` and `fetch`, and the paid half of `generate` and
    `edit`, for `AsyncKleinClient`."""

    async def submit(
        self,
        prompt: str | GenerationRequest,
        *,
        width: int = DEFAULT_SIDE,
        height: int = DEFAULT_SIDE,
        seed: int = RANDOM_SEED,
        base64_output: bool = False,
        model: str | KleinModel = DEFAULT_MODEL.name,
        loras: LoraOption = None,
    ) -> Prediction:
        """Submit a task and return at once (status ``created``/``processing``); ``model``
        and ``loras`` as for `generate` (an edit's request must carry its URLs).

        Example:
            >>> pred = await client.submit("a red fox", seed=42)  # doctest: +SKIP
            >>> gen = await client.fetch(pred.id)  # doctest: +SKIP
        """
        request = self._build_request(
            prompt,
            width=width,
            height=height,
            seed=seed,
            base64_output=base64_output,
            model=model,
            loras=loras,
        )
        run = self._start(request, None, None)
        return await self._submit(request, run, request.to_json())

    async def get_result(self, task_id: str) -> Prediction:
        """The task's current state: one request, no retries."""
        self._headers(auth=True)  # fail early and clearly without a key
        response = await self._send(
            "GET",
            self._url(_config.result_path(task_id)),
            during="polling",
            auth=True,
            deadline=self._clock() + READ_TIMEOUT,
        )
        return result_parser(task_id, self._api_key)(response)

    async def wait(self, task_id: str, *, timeout: float | None = None) -> Prediction:
        """Poll until the task completes; raise if it fails or ``timeout`` passes."""
        request = self.request_for(task_id) or GenerationRequest("(unknown)")
        run = self._start(request, timeout, None)
        prediction = await self._wait(task_id, run)
        first_output(prediction)
        return prediction

    async def fetch(
        self,
        task_id: str,
        *,
        request: GenerationRequest | None = None,
        timeout: float | None = None,
    ) -> Generation:
        """Wait for an already-submitted task and download its image (nothing is resubmitted)."""
        request = self._fetch_request(task_id, request)
        run = self._start(request, timeout, None)
        return await self._complete(request, await self._wait(task_id, run), run)

    async def _make(self, request: GenerationRequest, run: Run) -> Generation:
        """Submit ``request`` (its model's unconfirmed price asked first, once), wait for
        it and download its image: the paid half of every call that makes one."""
        model = request.klein_model
        if self._price_to_ask(model):  # the answer goes into `prices`: the ledger's
            await self.model_price(model, wait=run.deadline - self._clock())  # a correction
        prediction = await self._submit(request, run, self._submit_body(request))
        if not prediction.done:
            prediction = await self._wait(prediction.id, run, prediction)
        return await self._complete(request, prediction, run)

    async def _upload_plan(
        self, plan: Plan, references: Mapping[str, Reference], timeout: float | None
    ) -> None:
        """Upload the references of a batch's edits that will be sent (not those the
        gallery answers), each distinct image once, before any submit."""
        for place, job in enumerate(plan.jobs):
            request = job.request
            if job.task_id is None and request.is_edit and not request.images:
                run = self._start(request, timeout, None)
                refs = [references[sha] for sha in request.references]
                urls = await self._upload_references(refs, run)
                sent = dataclasses.replace(request, images=urls)
                plan.jobs[place] = dataclasses.replace(job, request=sent)
                for index in job.indices:
                    plan.requests[index] = sent
