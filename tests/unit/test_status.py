"""Status text shared by the panel, %klein and the CLI."""

from __future__ import annotations

import io

import pytest

from klein_widget import (
    APIConnectionError,
    GenerationFailedError,
    GenerationRequest,
    GenerationTimeoutError,
    Prediction,
    Progress,
)
from klein_widget.client._config import DEFAULT_BASE_URL, is_local
from klein_widget.client._generation import Generation
from klein_widget.ui._progress import progress_bar
from klein_widget.ui._text import (
    done_text,
    error_text,
    price_text,
    progress_text,
)
from tests.conftest import FAKE_KEY

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


@pytest.mark.parametrize(
    ("gateway", "text"),
    [
        (
            {"queue_position": 1, "estimated_wait_s": 12.4},
            "In the class queue, 1st in line, about 12 s",
        ),
        ({"queue_position": 2}, "In the class queue, 2nd in line"),
        (
            {"queue_position": 13, "estimated_wait_s": 0},
            "In the class queue, 13th in line, about 0 s",
        ),
        ({"queue_position": 23}, "In the class queue, 23rd in line"),
        # What a server should not send is ignored, not shown or raised.
        ({"queue_position": True, "estimated_wait_s": "soon"}, "Waiting to start"),
        ({"queue_position": -3}, "Waiting to start"),
        ("third", "Waiting to start"),
    ],
)
def test_a_gateways_queue_place_is_the_queued_line(gateway: object, text: str) -> None:
    prediction = Prediction.from_json({"id": "t", "status": "created", "gateway": gateway})
    line = progress_text(Progress("queued", 1.23, REQUEST, "t", prediction))
    assert line == f"{text}… 1.2 s"


@pytest.mark.parametrize(("said", "shown"), [(True, " simulated"), (False, ""), ("yes", "")])
def test_a_server_that_says_its_prices_are_simulated_decides_the_label(
    said: object, shown: str
) -> None:
    prediction = Prediction.from_json({"id": "t", "status": "completed", "simulated": said})
    gen = Generation(REQUEST, prediction, b"png", 0.5)
    # WaveSpeed never says: only then does where the server is decide.
    on_loopback = "http://127.0.0.1:8800"
    expected = shown if said in (True, False) else " simulated"
    assert done_text(gen, base_url=on_loopback).endswith(f"$0.008{expected}")


def test_done_line_has_times_seed_size_and_cost() -> None:
    prediction = Prediction.from_json(
        {"id": "t", "status": "completed", "timings": {"inference": 600}}
    )
    generation = Generation(REQUEST, prediction, b"\x89PNG\r\n\x1a\n", elapsed=0.66)
    done = "Done in 0.66 s (inference 0.60 s) · seed 42 · 768×512 · $0.008"
    assert done_text(generation, base_url=DEFAULT_BASE_URL) == done
    assert done_text(generation, base_url="http://127.0.0.1:8765") == done + " simulated"


@pytest.mark.parametrize(
    ("base_url", "simulated"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765/", True),
        ("http://[::1]:8765", True),
        ("http://127.0.0.2:9000", True),  # all of 127/8 is this machine
        (DEFAULT_BASE_URL, False),
        ("https://gateway.school.example", False),
        ("http://testserver", False),
        ("", False),
        (None, False),
    ],
)
def test_prices_from_this_machine_are_simulated(base_url: str | None, simulated: bool) -> None:
    assert is_local(base_url) is simulated
    assert price_text(0.04, base_url) == ("$0.040 simulated" if simulated else "$0.040")


def test_a_client_on_wavespeed_shows_a_plain_price() -> None:
    from klein_widget import KleinClient

    with KleinClient(FAKE_KEY, DEFAULT_BASE_URL) as client:  # built, never sends
        assert price_text(0.008, client.base_url) == "$0.008"


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


def test_an_image_from_the_gallery_says_so_and_costs_nothing() -> None:
    import dataclasses

    from klein_widget import Generation, GenerationRequest, Prediction
    from klein_widget.ui._text import done_text

    request = GenerationRequest("a fox", 256, 256, 7)
    made = Generation(request, Prediction(id="t1"), b"png", simulated=False, service="x.ai")
    reused = dataclasses.replace(made, from_gallery=True)
    stand_in = dataclasses.replace(reused, simulated=True, service="emulator @127.0.0.1:8765")

    assert done_text(made, base_url="https://api.wavespeed.ai").endswith("· $0.008")
    assert done_text(reused, base_url="https://api.wavespeed.ai") == (
        "From your gallery · seed 7 · 256×256 · $0.000"
    )
    assert done_text(reused, base_url="http://127.0.0.1:8765").endswith("$0.000 simulated")
    assert done_text(stand_in, base_url="http://127.0.0.1:8765").startswith(
        "From your gallery (emulator stand-in) · seed 7"
    )


def test_a_paced_batch_shows_the_rate_limits_countdown() -> None:
    note = "rate limit: next image in 23 s; WaveSpeed allows 2 a minute on this account"
    line = progress_text(Progress("rate_limited", 0.0, REQUEST, note=note, wait=23.0))
    assert line == "Rate limit: next image in 23 s; WaveSpeed allows 2 a minute on this account"
    stream = io.StringIO()
    bar = progress_bar(12, enabled=True, stream=stream)
    bar.update(done=3, failed=0, skipped=0)
    note_bar = bar.note
    note_bar(note)
    assert stream.getvalue().rstrip().endswith(f"3/12 · {note}")
    bar.update(done=4, failed=0, skipped=0)  # the next image: the countdown is gone
    assert stream.getvalue().rstrip().endswith("4/12")
