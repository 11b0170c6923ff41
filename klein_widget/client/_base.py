"""What `KleinClient` and `AsyncKleinClient` share: configuration, state and every decision.

The two clients keep only their mirrored I/O loops (send, sleep, await); everything they
decide between two requests is a method here, written once. The decisions come in
layers, each a module that reads in one sitting and builds on the one before, so each
piece of state is declared once: `ProvenanceRules` (is the server simulating),
`JournalRules` (free re-runs, a batch's plan, the journal), `FamilyRules` (endpoints,
prices, edits), `SubmitRules` (a submit's body, pacing and answer), then `BaseClient`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator

from klein_widget._version import __version__
from klein_widget.client import _config, _policy
from klein_widget.client._exceptions import (
    KleinError,
    RateLimitError,
)
from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._family_inputs import LoraOption, model_for_loras
from klein_widget.client._generation import Generation
from klein_widget.client._ledger import Ledger, Spend
from klein_widget.client._models import (
    DEFAULT_SIDE,
    RANDOM_SEED,
    GenerationRequest,
    Prediction,
)
from klein_widget.client._run import ProgressCallback, Run, timed_out
from klein_widget.client._submits import SubmitRules

_log = logging.getLogger(__name__)  # retry and poll decisions; silent unless configured


class BaseClient(SubmitRules):
    """Configuration and decisions shared by the sync and async clients."""

    timeout: float
    download_grace: float
    retry: _policy.RetryPolicy
    poll: _policy.PollSchedule
    _inference: _policy.InferenceTimes  # learned, for the poll schedule
    _refunded: set[str]  # failed tasks taken off the spend

    # --- configuration -----------------------------------------------------------------

    @property
    def has_api_key(self) -> bool:
        """True if a key is configured (the key itself is never exposed)."""
        return self._api_key is not None

    @property
    def key_missing(self) -> bool:
        """True if this client cannot send anything: no key, and its server needs one
        (WaveSpeed does; a local emulator or gateway may not)."""
        return self._api_key is None and _config.needs_key(self.base_url)

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
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key}, "
            f"journal={self.journal!r})"
        )

    def _headers(self, auth: bool) -> dict[str, str]:
        headers = {"User-Agent": f"klein-widget/{__version__}"}
        if auth and self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        elif auth and self.key_missing:
            raise _config.missing_key_error()
        return headers

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _same_origin(self, url: str) -> bool:
        # The key goes only to the API's own origin, never to a CDN serving outputs.
        return _config.url_origin(url) == _config.url_origin(self.base_url)

    # --- requests ----------------------------------------------------------------------

    def _build_request(
        self,
        prompt: str | GenerationRequest,
        *,
        width: int | None = DEFAULT_SIDE,
        height: int | None = DEFAULT_SIDE,
        seed: int = RANDOM_SEED,
        sync_mode: bool = False,
        base64_output: bool = False,
        model: str | KleinModel = DEFAULT_MODEL.name,
        loras: LoraOption = None,
    ) -> GenerationRequest:
        """Validate (raising before anything is sent) and draw a concrete seed. A
        `GenerationRequest` given whole is taken as it is; LoRAs with ``"4b"`` go to the 4B
        LoRA endpoint (`model_for_loras`)."""
        if isinstance(prompt, GenerationRequest):
            request = prompt
        else:
            request = GenerationRequest(
                prompt,
                width,
                height,
                seed,
                sync_mode,
                base64_output,
                model=model_for_loras(model, loras),
                loras=loras or (),  # type: ignore[arg-type]  # made a tuple by its check
            )
        if self.key_missing:
            raise _config.missing_key_error()
        return request.with_concrete_seed(self._rng)

    def _start(
        self,
        request: GenerationRequest,
        timeout: float | None,
        on_progress: ProgressCallback | None,
    ) -> Run:
        now = self._clock()
        limit = self.timeout if timeout is None else timeout
        return Run(request, now, now + limit, self._clock, on_progress)

    def _retry_delay(
        self,
        error: KleinError,
        attempt: int,
        deadline: float,
        *,
        submit: bool = False,
        run: Run | None = None,
    ) -> float | None:
        """Seconds to wait before trying again, or None to give up and raise ``error``."""
        what = "submit" if submit else "request"
        allowed = _policy.should_retry_submit(error) if submit else _policy.should_retry_read(error)
        if not allowed or attempt >= self.retry.max_attempts:
            _log.debug("not retrying the %s (attempt %d): %s", what, attempt, error.message)
            return None
        delay = self.retry.delay(attempt, _policy.retry_after_of(error), self._rng)
        if self._clock() + delay >= deadline:
            _log.debug("not retrying the %s: %.2f s would pass the deadline", what, delay)
            return None
        _log.info("retrying the %s in %.2f s (attempt %d): %s", what, delay, attempt, error.message)
        if run is not None and isinstance(error, RateLimitError):
            # Say so: the status line, and batches back off.
            run.report("rate_limited", note=self.pacer.note())
        return delay

    # --- polls and the download ----------------------------------------------------------

    def _poll_pauses(self, run: Run, task_id: str) -> Iterator[float]:
        """The pauses between polls for this run's image size; raises
        `GenerationTimeoutError` when the next is asked for at the deadline."""
        expected = self._inference.expected(run.request.pixels)
        since = self._clock() - (run.started if run.sent is None else run.sent)
        for delay in self.poll.delays(expected, since):
            remaining = run.deadline - self._clock()
            if remaining <= 0:
                _log.info("giving up on task %s at the deadline", task_id)
                raise timed_out(task_id, run)
            pause = float(min(delay, remaining))
            _log.debug("task %s still running; next poll in %.3f s", task_id, pause)
            yield pause

    def _download_run(self, run: Run) -> Run:
        """The run a paid image's download is held to: the timeout, or the client's
        ``download_grace`` if later."""
        deadline = max(run.deadline, self._clock() + self.download_grace)
        return dataclasses.replace(run, deadline=deadline)

    def _refund_if_failed(self, prediction: Prediction) -> None:
        """WaveSpeed refunds an image task that ends ``failed``: take it off the spend, if
        this client charged it (a task fetched by `resume` was paid in an earlier session)."""
        request = self._requests.get(prediction.id)  # charged here
        if prediction.status == "failed" and request and prediction.id not in self._refunded:
            self._refunded.add(prediction.id)
            mills, confirmed = self._ledger.price_for(request.klein_model)
            simulated = self._simulates(prediction)
            self._ledger.refund(mills, simulated=simulated, confirmed=confirmed)

    # --- results -----------------------------------------------------------------------

    def _finish(
        self, request: GenerationRequest, prediction: Prediction, image: bytes, run: Run
    ) -> Generation:
        """The image as a `Generation` (not yet journaled: see `_journal_completed`)."""
        self._inference.learn(request.pixels, prediction.inference_ms)
        return Generation(
            request,
            prediction,
            image,
            elapsed=run.elapsed(),
            price=self._ledger.price_for(request.klein_model),
            **self._provenance(request, prediction),
        )

    def _fetch_request(self, task_id: str, request: GenerationRequest | None) -> GenerationRequest:
        found = request or self._requests.get(task_id)
        if found is None:
            raise KleinError(
                f"This client did not submit task {task_id}; pass request=... so the image "
                "keeps its prompt, size and seed.",
                task_id=task_id,
            )
        return found
