"""Status lines in words: shared by the panel, ``%klein`` and the CLI, so they all say the same.

Example:
    >>> error_text(InvalidRequestError("width must be from 256 to 1536, not 2000"))
    'width must be from 256 to 1536, not 2000.'
"""

from __future__ import annotations

from klein_widget.client._config import is_local
from klein_widget.client._exceptions import (
    APIConnectionError,
    APIStatusError,
    GenerationFailedError,
    GenerationTimeoutError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._generation import Generation
from klein_widget.client._ledger import money, unconfirmed_text
from klein_widget.client._models import Prediction
from klein_widget.client._run import Progress, service_label

__all__ = [
    "budget_left_text",
    "done_text",
    "error_text",
    "price_text",
    "progress_text",
    "short_error_text",
]


def price_text(dollars: float, base_url: str | None, *, simulated: bool | None = None) -> str:
    """A price as every door shows it: ``$0.008``, or ``$0.008 simulated`` on a local server.

    Example:
        >>> price_text(0.04, "http://localhost:8765")
        '$0.040 simulated'
        >>> price_text(0.008, "https://api.wavespeed.ai")
        '$0.008'
    """
    # The server did not say (WaveSpeed never does): judge by where. A server on this
    # machine (loopback) is a local emulator, which bills nothing.
    if simulated is None:
        simulated = is_local(base_url)
    return f"{money(dollars)}{' simulated' if simulated else ''}"


def progress_text(progress: Progress) -> str:
    """One short line for a step of a generation.

    Example:
        >>> progress_text(Progress("processing", 0.42, request))  # doctest: +SKIP
        'Generating… 0.4 s'
    """
    elapsed = f"{progress.elapsed:.1f} s"
    if progress.stage == "submitting":  # passing over a stand-in: why it is sent
        return f"{progress.note}…" if progress.note else "Submitting…"
    if progress.stage == "rate_limited" and progress.note:  # paced: the countdown
        return progress.note[:1].upper() + progress.note[1:]
    if progress.stage == "rate_limited":
        return f"Rate limited by WaveSpeed: sending again shortly… {elapsed}"
    if progress.stage == "submitted":
        return "Submitted…"
    if progress.stage == "queued":
        return f"{_waiting(progress.prediction)}… {elapsed}"
    if progress.stage == "processing":
        return f"Generating… {elapsed}"
    if progress.stage == "downloading":
        return f"Downloading… {elapsed}"
    return f"Done in {elapsed}"


def _waiting(prediction: Prediction | None) -> str:
    """What a queued task waits for: a classroom gateway says its place in line."""
    position = prediction.queue_position if prediction is not None else None
    if prediction is None or position is None:
        return "Waiting to start"
    text = f"In the class queue, {_ordinal(position)} in line"
    wait = prediction.queue_wait
    return text + (f", about {wait:.0f} s" if wait is not None else "")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def budget_left_text(prediction: Prediction | None) -> str:
    """``class budget $1.992 left`` when the answer came through a classroom gateway (its
    ``data.gateway.budget_left_mills``: what the student's budget still holds), else ``""``.

    Example:
        >>> budget_left_text(None)
        ''
    """
    left = prediction.budget_left_mills if prediction is not None else None
    if left is None:
        return ""
    return f"class budget {price_text(left / 1000, None, simulated=False)} left"


def done_text(generation: Generation, *, base_url: str | None) -> str:
    """The closing line: total time, the server's inference time, seed, size and cost.

    ``base_url`` is where the image came from: a local emulator's cost says "simulated"
    (`price_text`). An image that came from the gallery (or a lesson pack) says so, at
    $0.000.

    Example:
        >>> done_text(gen, base_url="https://api.wavespeed.ai")  # doctest: +SKIP
        'Done in 0.66 s (inference 0.60 s) · seed 42 · 768×512 · $0.008'
    """
    # A simulating server drew it (only the emulator draws; a rehearsal gateway passes
    # its stand-ins on), answered from the gallery or a pack: the caption says which.
    made = ", emulator stand-in" if generation.simulated else ""
    if generation.from_pack:  # made by whoever made the pack: nothing sent or paid
        parts = [f"From your lesson pack ({generation.from_pack}{made})"]
    elif generation.from_gallery:  # already made: nothing was sent, nothing was paid
        parts = [f"From your gallery{f' ({made[2:]})' if made else ''}"]
    else:
        parts = [f"Done in {generation.elapsed:.2f} s"]
        inference = generation.prediction.inference_ms
        if inference is not None:
            parts[0] += f" (inference {inference / 1000:.2f} s)"
        if generation.passed_over:  # the gallery held only a stand-in; this went to a real service
            asked = service_label(generation.service)
            parts.insert(0, f"Your gallery only had an emulator stand-in for this; asked {asked}")
    width, height = generation.size
    parts += [f"seed {generation.seed}", f"{width}×{height}"]
    left = budget_left_text(generation.prediction)
    if left:
        parts.append(left)
    cost = price_text(generation.cost, base_url, simulated=generation.prediction.simulated)
    mills = 0 if generation.price_confirmed else round(generation.cost * 1000)
    parts.append(unconfirmed_text(cost, mills, mills))  # the ledger's one rule
    if generation.nsfw:
        parts.append("flagged NSFW by the server")
    return " · ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def error_text(error: BaseException) -> str:
    """One or two plain sentences: what went wrong and what to do. Never a traceback.

    The messages of klein-widget's errors already say what to do; this adds the task id
    where it matters and names errors that come from elsewhere.
    """
    if isinstance(error, RateLimitError):  # an APIStatusError, said without its task id
        return _sentence(error.message)
    if isinstance(error, GenerationFailedError):
        reason = error.prediction.error or "no reason given"
        return (
            f"The generation failed on the server: {_sentence(reason)} Nothing to fetch; "
            "try again, perhaps with another seed or a rephrased prompt "
            f"(task {error.prediction.id})."
        )
    if isinstance(error, GenerationTimeoutError | APIConnectionError | APIStatusError):
        text = _sentence(error.message)
        if error.task_id and error.task_id not in text:
            text = f"{text[:-1]} (task {error.task_id}){text[-1]}"
        return text
    if isinstance(error, KleinError):
        return _sentence(error.message)
    return _sentence(f"Unexpected {type(error).__name__}: {error}")


def short_error_text(error: BaseException) -> str:
    """`error_text` in one sentence where a Retry button stands beside it (the panel).

    Example:
        >>> short_error_text(failed)  # doctest: +SKIP
        'The generation failed on the server (out of memory): Retry, or change the seed.'
    """
    if isinstance(error, GenerationFailedError):
        # The server's own words, first sentence only: the rest says what Retry does.
        reason = (error.prediction.error or "no reason given").strip().split(". ")[0]
        reason = reason.rstrip(".")
        return f"The generation failed on the server ({reason}): Retry, or change the seed."
    return error_text(error)
