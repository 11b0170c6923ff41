"""When the clients poll a task and how long a download may take: the decisions between
a submit and its image. A mixin of `BaseClient`, kept apart so each module reads in one
sitting.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

from klein_widget.client import _policy
from klein_widget.client._run import Run, timed_out

__all__ = ["PollRules"]

# Every decision of the client logs to one logger, `_base`'s: silent unless configured.
_log = logging.getLogger("klein_widget.client._base")


class PollRules:
    """The poll schedule and the download's deadline (mixed into `BaseClient`)."""

    base_url: str
    poll: _policy.PollSchedule
    _clock: Callable[[], float]
    _inference: _policy.InferenceTimes
    download_grace: float

    def _poll_delays(self, run: Run) -> Iterator[float]:
        """The pauses between polls for this run's image size."""
        expected = self._inference.expected(run.request.pixels)
        since = self._clock() - (run.started if run.sent is None else run.sent)
        return self.poll.delays(expected, since)

    def _poll_delay(self, delays: Any, run: Run, task_id: str) -> float:
        """The next pause, or raise `GenerationTimeoutError` if the deadline is reached."""
        remaining = run.deadline - self._clock()
        if remaining <= 0:
            _log.info("giving up on task %s at the deadline", task_id)
            raise timed_out(task_id, run)
        pause = float(min(next(delays), remaining))
        _log.debug("task %s still running; next poll in %.3f s", task_id, pause)
        return pause

    def _download_run(self, run: Run) -> Run:
        """The run a paid image's download is held to: the timeout, or the client's
        ``download_grace`` if later."""
        deadline = max(run.deadline, self._clock() + self.download_grace)
        return dataclasses.replace(run, deadline=deadline)
