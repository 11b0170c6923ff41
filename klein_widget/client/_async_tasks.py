"""The async client's calls on a task by its id: `submit` one and come back later with
`get_result`, `wait` or `fetch` (a mixin of `AsyncKleinClient`, over its loops).

The source of the blocking `_sync_tasks` (``python scripts/unasync.py``).
"""

from __future__ import annotations

from klein_widget.client import _config
from klein_widget.client._answers import first_output, result_parser
from klein_widget.client._async_loops import AsyncLoops
from klein_widget.client._constants import READ_TIMEOUT
from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._family_inputs import LoraOption
from klein_widget.client._generation import Generation
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest, Prediction


class AsyncTasks(AsyncLoops):  # the I/O loops: `_async_loops`
    """`submit`, `get_result`, `wait` and `fetch`, for `AsyncKleinClient`."""

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
