"""Sending one task upstream and deciding its fate from the answer (a mixin of `Dispatcher`).

Each task goes through `AsyncKleinClient.generate` (its request carries the model, an
edit's image URLs and references, the LoRAs), whose rules decide what may be sent again.
The outcome: completed; accepted upstream and followed by `Aftercare`; refused or failed
(refunded: WaveSpeed refunds failed tasks too); put back in line after a 429 that was
surely not taken; or of unknown fate, held "pending" and settled against upstream's record
(`_settle`).

Example:
    >>> await dispatcher._send(task)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque

from klein_widget.client._exceptions import (
    APIConnectionError,
    AuthenticationError,
    GenerationFailedError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._run import Progress
from klein_widget.client.batch._concurrency import Concurrency
from klein_widget.gateway._aftercare import PENDING, Aftercare
from klein_widget.gateway._checks import StoreWatch
from klein_widget.gateway._db import ClassDB
from klein_widget.gateway._lines import Lines
from klein_widget.gateway._rows import GatewayTask
from klein_widget.gateway._upstream import Upstream
from klein_widget.gateway._worker import DBThread

__all__ = ["ENHANCE_LOST", "KEY_REFUSED", "STORE_REFUSED", "UPSTREAM_DOWN", "Forwarding"]

_log = logging.getLogger(__name__)
KEY_REFUSED = (
    "WaveSpeed refused the gateway's own key (the teacher's, not your token), so nothing "
    "was made and nothing was charged: tell your teacher."
)
UPSTREAM_DOWN = (
    "The gateway could not reach WaveSpeed, so nothing was sent and nothing was charged: "
    "ask again in a minute, or tell your teacher if it goes on."
)
ENHANCE_LOST = (
    "The prompt optimizer's answer was lost ({}); it may have run and been charged "
    "($0.001). Ask again."
)
STORE_REFUSED = "The class's image store cannot keep images now ({}), so nothing was sent "
STORE_REFUSED += "and your charge was refunded: tell your teacher."


class Forwarding:
    """What `Dispatcher` does with one task it took from the queue."""

    db: ClassDB
    upstream: Upstream
    run: DBThread
    store: StoreWatch | None
    care: Aftercare
    concurrency: Concurrency
    _lines: Lines
    _paused_until: float
    _durations: deque[float]

    async def _send(self, task: GatewayTask) -> None:
        """Send one task upstream through the client and wait for its image."""
        began = time.monotonic()
        problem = await self.store.problem() if self.store is not None else None
        if problem is not None:  # never charge for an image the class cannot keep
            self.concurrency.failed(task.seq)
            await self.run(self.db.refund, task.id, STORE_REFUSED.format(problem))
            return
        await self.run(self.db.update, task.id, status="forwarding")  # may reach upstream now

        def progress(step: Progress) -> None:
            if step.stage == "submitted" and step.task_id:
                self.run.post(self.db.update, task.id, status="submitted", upstream_id=step.task_id)
            elif step.stage in ("queued", "processing"):
                self.concurrency.stage(task.seq, step.stage)
            elif step.stage == "rate_limited":
                self.concurrency.rate_limited()

        request = dataclasses.replace(task.request, sync_mode=False, base64_output=False)
        try:
            if task.kind == "enhance":
                text = await self.upstream.client.enhance_prompt(request.prompt, style=task.style)
                await self.run(self.db.update, task.id, status="completed", text_output=text)
            else:
                gen = await self.upstream.client.generate(request, fresh=True, on_progress=progress)
                if gen.path is None:  # made and paid, but the store could not keep it: retry
                    await self._accepted(task, gen.task_id)
                    return
                await self.run(
                    self.db.update,
                    task.id,
                    status="completed",
                    upstream_id=gen.task_id,
                    inference_ms=gen.prediction.inference_ms,
                )
            self.concurrency.succeeded(task.seq)
            self._durations.append(time.monotonic() - began)
        except KleinError as error:
            await self._failed(task, error)
        except Exception:  # a bug must not leave a paid task without a trace
            _log.exception("task %s: unexpected error", task.id)
            self.concurrency.failed(task.seq)
            await self._unknown(task, "the gateway's own error")

    async def _unknown(self, task: GatewayTask, why: str) -> None:
        """The submit may have reached upstream: settle an image against upstream's record;
        an optimizer run ($0.001, not matched in the history) stays charged, and says so."""
        if task.kind == "enhance":
            await self.run(self.db.update, task.id, status="failed", error=ENHANCE_LOST.format(why))
            return
        await self.run(self.db.update, task.id, status="pending", error=PENDING)
        self.care.settle(task.id)

    async def _accepted(self, task: GatewayTask, upstream_id: str) -> None:
        """Upstream has it (paid): follow it outside the submit slots until it ends."""
        self.concurrency.failed(task.seq)
        await self.run(self.db.update, task.id, status="submitted", upstream_id=upstream_id)
        self.care.follow(task.id, upstream_id)

    async def _failed(self, task: GatewayTask, error: KleinError) -> None:
        if isinstance(error, RateLimitError) and not error.maybe_accepted:
            # Not taken upstream: back to the front of its line, everyone waits.
            self.concurrency.rate_limited(task.seq)
            self._paused_until = time.monotonic() + (error.retry_after or 5.0)
            await self.run(self.db.update, task.id, status="queued")
            self._lines.push_front(task.student, task.id)
            return
        if error.task_id and error.maybe_accepted and not isinstance(error, GenerationFailedError):
            await self._accepted(task, error.task_id)
            return
        self.concurrency.failed(task.seq)
        if isinstance(error, AuthenticationError) and not error.maybe_accepted:
            _log.error("upstream refused the gateway's key: %s", error.message)
            await self.run(
                self.db.refund, task.id, KEY_REFUSED
            )  # the client's words name a variable
        elif isinstance(error, APIConnectionError) and not error.maybe_accepted:
            await self.run(self.db.refund, task.id, UPSTREAM_DOWN)  # not the student's URL
        elif isinstance(error, GenerationFailedError) or not error.maybe_accepted:
            # Refused, or failed upstream (WaveSpeed refunds failed tasks): refund too.
            await self.run(self.db.refund, task.id, error.message)
        else:
            await self._unknown(task, error.message)
