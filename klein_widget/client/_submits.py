"""What the clients decide around a submit: its body on the wire (the image inline or as
a URL), its place under the account's rate limit, the round trip its answer shows, and
what its answer means (accepted and journaled, refused, or maybe billed).

A mixin of `BaseClient`, kept apart so each module reads in one sitting.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import httpx

from klein_widget.client import _envelope, _policy
from klein_widget.client._answers import prediction_from, submit_data
from klein_widget.client._constants import REMEMBERED_TASKS
from klein_widget.client._exceptions import (
    APIStatusError,
    GenerationTimeoutError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._family_rules import FamilyRules
from klein_widget.client._ledger import Reservation
from klein_widget.client._models import GenerationRequest, Prediction
from klein_widget.client._run import Run
from klein_widget.client.batch._pacing import Pacer

__all__ = ["SubmitRules"]

_PACE_QUIET = 0.1  # seconds: a pacing wait shorter than this is not reported
# The least time a submit must have left to be sent: one sent with less cannot be answered
# before its deadline, so it would be paid for with no task id to fetch it by.
_LEAST_TO_SUBMIT = 0.02  # seconds; the learned round trip when it is longer


class SubmitRules(FamilyRules):
    """The submit's body, pacing, round trip and answer (mixed into `BaseClient`, over the
    family's rules and what they build on)."""

    _clock: Callable[[], float]
    _requests: OrderedDict[str, GenerationRequest]
    # Images come inline in the answer that says "completed" (no download round trip)
    # where that is cheaper; False: always as URLs (unless a call asks for base64).
    inline_images: bool
    _round_trip: float | None  # seconds, learned from submits' answers
    # Submits paced to the account's rate limit: ``rate_limit`` images a minute (or a
    # `RateLimit`, or a shared `Pacer`), else what 429s show; for every call and batch.
    pacer: Pacer

    def _submit_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The submit body on the wire: the request, with the image asked inline when the
        policy says so (the request itself, its snippet and its gallery row stay as asked)."""
        body = request.to_json()
        pixels = request.pixels
        asked = request.base64_output
        if self.inline_images and _policy.inline_output(
            pixels, asked=asked, round_trip=self._round_trip
        ):
            body["enable_base64_output"] = True
        return body

    def _pace(self, run: Run) -> float:
        """Claim a submit's place under the rate limit: 0 to send now, else seconds to
        sleep before asking again (a countdown is reported). Raises `RateLimitError`
        (nothing sent, nothing billed) when the wait would pass the call's deadline."""
        wait = self.pacer.claim()
        if wait <= 0:
            return 0.0
        if self._clock() + wait >= run.deadline:
            raise RateLimitError(
                f"{self.pacer.note()}: the next image could go only after this call's "
                "timeout, so nothing was sent. Use a longer timeout, or generate_many, "
                "which waits its turn.",
                retry_after=wait,
            )
        if wait > _PACE_QUIET:  # not for the brief waits for a submit's answer
            run.report("rate_limited", note=self.pacer.note(), wait=wait)
        return min(wait, 1.0)  # look again each second: the countdown moves

    def _time_to_submit(self, run: Run) -> None:
        """Raise `GenerationTimeoutError` (nothing sent, nothing billed) when too little of
        the call's time is left for a submit's answer to arrive: a submit sent then could
        be taken and billed with its task id lost at the deadline."""
        left = run.deadline - self._clock()
        if left < max(_LEAST_TO_SUBMIT, self._round_trip or 0.0):
            raise GenerationTimeoutError(
                f"Only {max(left, 0.0) * 1000:.0f} ms of this call's time was left, too "
                "little for WaveSpeed to answer a submit, so nothing was sent or billed. "
                "Use a longer timeout.",
                maybe_accepted=False,
            )

    def _submitted(self, run: Run, *, paced: bool, sync: bool) -> None:
        """A submit was answered (not with a 429): count it, and fold its round trip into
        the running estimate (a sync-mode answer waits for the image: none to learn)."""
        if paced:
            self.pacer.accepted()
        if not sync and run.sent is not None:
            seconds = self._clock() - run.sent
            previous = self._round_trip
            self._round_trip = seconds if previous is None else 0.7 * previous + 0.3 * seconds

    def _paced(self, error: BaseException) -> None:
        """Tell the pacer how a claimed submit ended that was not answered (or met a 429)."""
        if isinstance(error, RateLimitError) and not error.maybe_accepted:
            self.pacer.refused(error.retry_after)
        else:
            self.pacer.released()

    def _check_submit_rate_limit(self, response: httpx.Response) -> None:
        """A 429 on submit means "not taken": raise it so the submit loop may retry."""
        if response.status_code == 429:
            _envelope.parse_envelope(response, secret=self._api_key)

    def _settle(self, token: Reservation, error: BaseException) -> None:
        """After a failed submit, count it as spent unless the server surely refused it."""
        if not isinstance(error, KleinError) or error.maybe_accepted:
            self._ledger.commit(token, simulated=self._simulates(None))
        else:
            self._ledger.release(token)

    def _accepted(
        self, request: GenerationRequest, response: httpx.Response, token: Reservation
    ) -> Prediction | KleinError:
        """The submit answer as a Prediction, or the error it means (returned, for the
        client to journal before raising it); the ledger is settled either way."""
        try:
            prediction = prediction_from(
                submit_data(response, request.sync_mode, self._api_key), secret=self._api_key
            )
            if not prediction.id:
                raise APIStatusError(
                    "WaveSpeed accepted the request but returned no task id, so it cannot be "
                    "fetched; it may still be billed: check your WaveSpeed dashboard.",
                    status_code=502,
                    maybe_accepted=True,
                )
        except KleinError as error:
            self._settle(token, error)
            if error.task_id:  # accepted, badly described
                self._remember(error.task_id, request)
            return error
        if prediction.cached:  # a gateway's class store answered: nothing was charged
            self._ledger.release(token)
            self._ledger.reuse(token[0])
        else:
            self._ledger.commit(token, simulated=self._simulates(prediction))
        self._remember(prediction.id, request)
        return prediction

    def _journal_submitted(
        self, request: GenerationRequest, outcome: Prediction | KleinError
    ) -> None:
        """Journal an accepted task (one with an id, even if badly described). Disk I/O:
        the async client runs it in a worker thread."""
        task_id = outcome.id if isinstance(outcome, Prediction) else outcome.task_id
        if self.journal is not None and task_id:
            prediction = outcome if isinstance(outcome, Prediction) else Prediction(id=task_id)
            self.journal.task_submitted(request, prediction)

    def _remember(self, task_id: str, request: GenerationRequest) -> None:
        self._requests[task_id] = request
        while len(self._requests) > REMEMBERED_TASKS:
            self._requests.popitem(last=False)

    def request_for(self, task_id: str) -> GenerationRequest | None:
        """The request a task id was submitted with by this client, if remembered."""
        return self._requests.get(task_id)
