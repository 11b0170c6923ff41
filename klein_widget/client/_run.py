"""One generation's clock and progress: the stages a user sees, and when time is up.

Example:
    >>> import time
    >>> from klein_widget.client._models import GenerationRequest
    >>> run = Run(GenerationRequest("a fox"), 0.0, 5.0, time.monotonic, None)
    >>> timed_out("t1", run).task_id
    't1'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from klein_widget.client._exceptions import GenerationTimeoutError, KleinError, fetch_later
from klein_widget.client._models import GenerationRequest, Prediction
from klein_widget.client._prediction import WAITING_STATUSES

__all__ = [
    "Progress",
    "ProgressCallback",
    "Run",
    "Stage",
    "asking_note",
    "given_up",
    "service_label",
    "stage_of",
    "timed_out",
]

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
    # A rate limit's countdown ("rate limit: next image in 23 s; ..."), or while
    # submitting, why a stand-in was passed over (`asking_note`).
    note: str = ""
    wait: float | None = None  # seconds until the submit may go, while paced to the limit


ProgressCallback = Callable[[Progress], None]


@dataclass
class Run:
    """The clock, deadline and progress callback of one generation."""

    request: GenerationRequest
    started: float
    deadline: float
    clock: Callable[[], float]
    on_progress: ProgressCallback | None
    task_id: str | None = None
    sent: float | None = None  # when the submit (its last attempt) was sent: polls aim from it

    def elapsed(self) -> float:
        return self.clock() - self.started

    def report(
        self,
        stage: Stage,
        prediction: Prediction | None = None,
        *,
        note: str = "",
        wait: float | None = None,
    ) -> None:
        if prediction is not None:
            self.task_id = prediction.id or self.task_id
        if self.on_progress is not None:
            self.on_progress(
                Progress(stage, self.elapsed(), self.request, self.task_id, prediction, note, wait)
            )


def service_label(service: str) -> str:
    """A service as a status line names it: WaveSpeed by name, any other by its host.

    Example:
        >>> service_label("api.wavespeed.ai"), service_label("gw.example.org")
        ('WaveSpeed', 'gw.example.org')
    """
    return "WaveSpeed" if service.endswith("wavespeed.ai") else service


def asking_note(service: str) -> str:
    """The status while a request goes to a real ``service`` because the gallery held only
    a stand-in for it (the ``submitting`` stage's note).

    Example:
        >>> asking_note("api.wavespeed.ai")
        'Your gallery only has an emulator stand-in for this; asking WaveSpeed'
    """
    return f"Your gallery only has an emulator stand-in for this; asking {service_label(service)}"


def stage_of(prediction: Prediction) -> Stage:
    """The progress stage a still-running task is in."""
    return "queued" if prediction.status in WAITING_STATUSES else "processing"


def timed_out(task_id: str, run: Run, cause: KleinError | None = None) -> GenerationTimeoutError:
    waited = run.deadline - run.started
    last = f" (the last answer: {cause.message})" if cause is not None else ""
    return GenerationTimeoutError(
        f"Gave up waiting after {waited:g} s for task {task_id}{last}; it may still finish "
        f"(and is billed). {fetch_later(task_id)}",
        task_id=task_id,
        maybe_accepted=True,
    )


def given_up(error: KleinError, task_id: str | None, run: Run) -> KleinError:
    """The error to raise when a read is given up: after acceptance it names the task.

    Out of time, it is a `GenerationTimeoutError`, so every call that ran out of time
    says so the same way.
    """
    if task_id is None:
        return error
    if run.clock() >= run.deadline and not isinstance(error, GenerationTimeoutError):
        return timed_out(task_id, run, error)
    error.task_id = error.task_id or task_id
    error.maybe_accepted = True
    return error
