"""Status text shared by the panel, %klein and the CLI."""

from __future__ import annotations

import pytest

from klein_widget import (
    APIConnectionError,
    GenerationFailedError,
    GenerationRequest,
    GenerationTimeoutError,
    Prediction,
    Progress,
)
from klein_widget.client._generation import Generation
from klein_widget.ui._text import done_text, error_text, progress_text

REQUEST = GenerationRequest("a fox", width=768, height=512, seed=42)


@pytest.mark.parametrize(
    ("stage", "text"),
    [
        ("submitting", "Submitting…"),
        ("rate_limited", "Rate limited by WaveSpeed: sending again shortly… 1.2 s"),
        ("submitted", "Submitted…"),
        ("queued", "Waiting to start… 1.2 s"),
        ("processing", "Generating… 1.2 s"),
        ("downloading", "Downloading… 1.2 s"),
    ],
)
def test_progress_lines(stage: str, text: str) -> None:
    assert progress_text(Progress(stage, 1.23, REQUEST)) == text  # type: ignore[arg-type]


def test_done_line_has_times_seed_size_and_cost() -> None:
    prediction = Prediction.from_json(
        {"id": "t", "status": "completed", "timings": {"inference": 600}}
    )
    generation = Generation(REQUEST, prediction, b"\x89PNG\r\n\x1a\n", elapsed=0.66)
    assert done_text(generation) == "Done in 0.66 s (inference 0.60 s) · seed 42 · 768×512 · $0.008"


def test_error_lines_say_what_happened_and_carry_the_task() -> None:
    failed = Prediction.from_json({"id": "t9", "status": "failed", "error": "NSFW input"})
    assert error_text(GenerationFailedError("x", prediction=failed)) == (
        "The generation failed on the server: NSFW input. Nothing to fetch; try again, perhaps "
        "with another seed or a rephrased prompt (task t9)."
    )
    timeout = GenerationTimeoutError("Gave up after 5 s", task_id="t7")
    assert error_text(timeout) == "Gave up after 5 s (task t7)."
    assert error_text(APIConnectionError("offline")) == "offline."
    assert error_text(KeyError("x")) == "Unexpected KeyError: 'x'."
