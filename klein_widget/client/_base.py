"""What `KleinClient` and `AsyncKleinClient` share: configuration, state and every decision.

The two clients keep only their mirrored I/O loops (send, sleep, await); everything they
decide between two requests is a method here, written once.
"""

from __future__ import annotations

import base64
import binascii
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from klein_widget._version import __version__
from klein_widget.client import _core
from klein_widget.client._exceptions import (
    APIStatusError,
    GenerationFailedError,
    GenerationTimeoutError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._generation import Generation
from klein_widget.client._journal import GalleryOption, Journal, journal_for
from klein_widget.client._ledger import Ledger, Spend
from klein_widget.client._metadata import detect_format
from klein_widget.client._models import (
    DEFAULT_SIDE,
    RANDOM_SEED,
    GenerationRequest,
    Prediction,
)

DEFAULT_TIMEOUT = 300.0  # seconds to wait for one image before giving up (the task goes on)
DOWNLOAD_GRACE = 60.0  # a paid image still gets this long to download after the timeout
_REMEMBERED_TASKS = 4096

# "submitted": the server accepted the task (it answers "created" whether or not it will
# queue it); "queued": a later poll still finds it waiting to start.
# "rate_limited": a submit was refused with 429 and the client waits to send it again.
Stage = Literal[
    "submitting", "rate_limited", "submitted", "queued", "processing", "downloading", "done"
]


@dataclass(frozen=True)
class Progress:
    """One step of a generation, passed to ``on_progress`` callbacks (panel, magic, CLI)."""

    stage: Stage
    elapsed: float
    request: GenerationRequest
    task_id: str | None = None
    prediction: Prediction | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass
class _Run:
    """The clock and callback of one generation."""

    request: GenerationRequest
    started: float
    deadline: float
    clock: Callable[[], float]
    on_progress: ProgressCallback | None
    task_id: str | None = None

    def elapsed(self) -> float:
        return self.clock() - self.started

    def report(self, stage: Stage, prediction: Prediction | None = None) -> None:
        if prediction is not None:
            self.task_id = prediction.id or self.task_id
        if self.on_progress is not None:
            self.on_progress(
                Progress(stage, self.elapsed(), self.request, self.task_id, prediction)
            )


def stage_of(prediction: Prediction) -> Stage:
    """The progress stage a still-running task is in."""
    return "queued" if prediction.status in ("created", "pending") else "processing"


def decode_base64_output(output: str) -> bytes | None:
    """The image bytes if ``output`` is base64 (naked or a data: URL), else None (a URL)."""
    if output.startswith(("http://", "https://")):
        return None
    payload = output.split(",", 1)[1] if output.startswith("data:") else output
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


class BaseClient:
    """Configuration and decisions shared by the sync and async clients."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_spend: float | None = None,
        ledger: Ledger | None = None,
        journal: Journal | None = None,
        gallery: GalleryOption = True,
        poll: _core.PollSchedule | None = None,
        retry: _core.RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._api_key = _core.resolve_api_key(api_key)
        self.base_url = _core.resolve_base_url(base_url)
        self.timeout = timeout
        self._ledger = ledger if ledger is not None else Ledger(max_spend)
        if ledger is not None and max_spend is not None:
            ledger.max_spend = max_spend
        # An explicit journal wins; else the gallery (default: $KLEIN_GALLERY or ./klein-outputs).
        self.journal: Journal | None = journal if journal is not None else journal_for(gallery)
        self.poll = poll or _core.DEFAULT_POLL
        self.retry = retry or _core.RetryPolicy()
        self._clock = clock
        self._rng = rng or random.Random()
        self._inference = _core.InferenceTimes()  # learned, for the poll schedule
        self._requests: OrderedDict[str, GenerationRequest] = OrderedDict()

    # --- configuration -----------------------------------------------------------------

    @property
    def has_api_key(self) -> bool:
        """True if a key is configured (the key itself is never exposed)."""
        return self._api_key is not None

    @property
    def spend(self) -> Spend:
        """Images and dollars spent through this client (and any sharing its ledger)."""
        return self._ledger.spend

    @property
    def max_spend(self) -> float | None:
        """The spending cap in dollars; None means no cap. Settable."""
        return self._ledger.max_spend

    @max_spend.setter
    def max_spend(self, value: float | None) -> None:
        self._ledger.max_spend = value

    @property
    def ledger(self) -> Ledger:
        """The spend ledger (share it between clients to share one budget)."""
        return self._ledger

    def __repr__(self) -> str:
        key = "set" if self.has_api_key else "missing"
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key})"

    def _headers(self, auth: bool) -> dict[str, str]:
        headers = {"User-Agent": f"klein-widget/{__version__}"}
        if auth:
            if self._api_key is None:
                raise _core.missing_key_error()
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _same_origin(self, url: str) -> bool:
        # The key goes only to the API's own origin, never to a CDN serving outputs.
        return _core.url_origin(url) == _core.url_origin(self.base_url)

    # --- requests ----------------------------------------------------------------------

    def _build_request(
        self,
        prompt: str | GenerationRequest,
        *,
        width: int = DEFAULT_SIDE,
        height: int = DEFAULT_SIDE,
        seed: int = RANDOM_SEED,
        sync_mode: bool = False,
        base64_output: bool = False,
    ) -> GenerationRequest:
        """Validate (raising before anything is sent) and draw a concrete seed."""
        if isinstance(prompt, GenerationRequest):
            request = prompt
        else:
            request = GenerationRequest(prompt, width, height, seed, sync_mode, base64_output)
        if self._api_key is None:
            raise _core.missing_key_error()
        return request.with_concrete_seed(self._rng)

    def _start(
        self,
        request: GenerationRequest,
        timeout: float | None,
        on_progress: ProgressCallback | None,
    ) -> _Run:
        now = self._clock()
        limit = self.timeout if timeout is None else timeout
        return _Run(request, now, now + limit, self._clock, on_progress)

    def _request_timeout(self, run: _Run, sync_mode: bool) -> httpx.Timeout:
        # A sync-mode POST stays open until the image is done: let it use the whole budget.
        read = max(1.0, run.deadline - self._clock()) if sync_mode else 60.0
        return httpx.Timeout(read, connect=10.0)

    def _retry_delay(
        self,
        error: KleinError,
        attempt: int,
        deadline: float,
        *,
        submit: bool = False,
        run: _Run | None = None,
    ) -> float | None:
        """Seconds to wait before trying again, or None to give up and raise ``error``."""
        allowed = _core.should_retry_submit(error) if submit else _core.should_retry_read(error)
        if not allowed or attempt >= self.retry.max_attempts:
            return None
        delay = self.retry.delay(attempt, _core.retry_after_of(error), self._rng)
        if self._clock() + delay >= deadline:
            return None
        if run is not None and isinstance(error, RateLimitError):
            run.report("rate_limited")  # say so: the status line, and batches back off
        return delay

    def _check_submit_rate_limit(self, response: httpx.Response) -> None:
        """A 429 on submit means "not taken": raise it so the submit loop may retry."""
        if response.status_code == 429:
            _core.parse_envelope(response, secret=self._api_key)

    def _settle(self, token: tuple[int, str], error: BaseException) -> None:
        """After a failed submit, count it as spent unless the server surely refused it."""
        if not isinstance(error, KleinError) or error.maybe_accepted:
            self._ledger.commit(token)
        else:
            self._ledger.release(token)

    def _parse_submit(self, response: httpx.Response, sync_mode: bool) -> dict[str, Any]:
        if sync_mode:
            timed_out, task_id = _core.sync_timeout_task(response)
            if timed_out and task_id:
                return {"id": task_id, "status": "processing"}  # keep going by polling
            if timed_out:
                raise APIStatusError(
                    "Sync mode timed out at WaveSpeed's gateway, and the answer did not say "
                    "which task it was: it may still complete and be billed, but cannot be "
                    "fetched. Use polling (sync_mode=False) for this prompt.",
                    status_code=response.status_code,
                    maybe_accepted=True,
                )
        return _core.parse_envelope(
            response, secret=self._api_key, maybe_accepted=response.status_code >= 500
        )

    def _accepted(
        self,
        request: GenerationRequest,
        response: httpx.Response,
        token: tuple[int, str],
        run: _Run,
    ) -> Prediction:
        """Turn the submit answer into a Prediction and record it, settling the ledger."""
        try:
            prediction = Prediction.from_json(self._parse_submit(response, request.sync_mode))
            if not prediction.id:
                raise APIStatusError(
                    "WaveSpeed accepted the request but returned no task id.",
                    status_code=502,
                    maybe_accepted=True,
                )
        except KleinError as error:
            self._settle(token, error)
            raise
        self._ledger.commit(token)
        self._remember(prediction.id, request)
        if self.journal is not None:
            self.journal.task_submitted(request, prediction)
        run.report("submitted", prediction)
        return prediction

    def _remember(self, task_id: str, request: GenerationRequest) -> None:
        self._requests[task_id] = request
        while len(self._requests) > _REMEMBERED_TASKS:
            self._requests.popitem(last=False)

    def request_for(self, task_id: str) -> GenerationRequest | None:
        """The request a task id was submitted with by this client, if remembered."""
        return self._requests.get(task_id)

    # --- results -----------------------------------------------------------------------

    def _parse_result(self, task_id: str) -> Callable[[httpx.Response], Prediction]:
        def parse(response: httpx.Response) -> Prediction:
            data = _core.parse_envelope(
                response, secret=self._api_key, task_id=task_id, maybe_accepted=True
            )
            return Prediction.from_json(data)

        return parse

    def _poll_delays(self, run: _Run) -> Iterator[float]:
        """The pauses between polls for this run's image size."""
        expected = self._inference.expected(run.request.width * run.request.height)
        return self.poll.delays(expected, run.elapsed())

    def _poll_delay(self, delays: Any, run: _Run, task_id: str) -> float:
        """The next pause, or raise `GenerationTimeoutError` if the deadline is reached."""
        remaining = run.deadline - self._clock()
        if remaining <= 0:
            waited = run.deadline - run.started
            raise GenerationTimeoutError(
                f"Gave up waiting after {waited:g} s for task {task_id}; it may still finish "
                f"(and is billed). Fetch it later with client.wait({task_id!r}) or "
                "klein_widget.resume().",
                task_id=task_id,
                maybe_accepted=True,
            )
        return float(min(next(delays), remaining))

    def _check_completed(self, prediction: Prediction) -> str:
        """The first output of a completed task, or raise if it failed or has none."""
        if prediction.failed:
            reason = prediction.error or "no reason given"
            raise GenerationFailedError(
                f"Task {prediction.id} {prediction.status}: {reason}", prediction=prediction
            )
        if not prediction.outputs:
            raise APIStatusError(
                f"Task {prediction.id} completed without outputs.",
                status_code=502,
                task_id=prediction.id,
                maybe_accepted=True,
            )
        return prediction.outputs[0]

    def _parse_image(self, task_id: str) -> Callable[[httpx.Response], bytes]:
        def parse(response: httpx.Response) -> bytes:
            if response.status_code >= 300 or detect_format(response.content) == "unknown":
                # An HTML error page from a CDN is as retryable as a 5xx.
                status = response.status_code if response.status_code >= 300 else 502
                raise _core.status_error(
                    status,
                    f"downloading the image of task {task_id} failed",
                    retry_after=_core.parse_retry_after(response.headers.get("retry-after")),
                    task_id=task_id,
                    maybe_accepted=True,
                )
            return response.content

        return parse

    def _download_deadline(self, run: _Run) -> float:
        return max(run.deadline, self._clock() + DOWNLOAD_GRACE)

    def _finish(
        self, request: GenerationRequest, prediction: Prediction, image: bytes, run: _Run
    ) -> Generation:
        self._inference.learn(request.width * request.height, prediction.inference_ms)
        generation = Generation(request, prediction, image, elapsed=run.elapsed())
        if self.journal is not None:
            generation = self.journal.task_completed(generation)
        run.report("done", prediction)
        return generation

    def _fetch_request(self, task_id: str, request: GenerationRequest | None) -> GenerationRequest:
        found = request or self._requests.get(task_id)
        if found is None:
            raise KleinError(
                f"This client did not submit task {task_id}; pass request=... so the image "
                "keeps its prompt, size and seed.",
                task_id=task_id,
            )
        return found

    @staticmethod
    def _enhanced_text(prediction: Prediction) -> str:
        text = prediction.outputs[0] if prediction.outputs else ""
        if not text.strip():
            raise APIStatusError(
                "The prompt enhancer returned no text.", status_code=502, task_id=prediction.id
            )
        return text.strip()
