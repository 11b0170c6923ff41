"""Issue 11, outputs and images: after acceptance every failure names its task, and only an
image Pillow can decode is ever returned or saved."""

from __future__ import annotations

import pytest

from klein_widget import KleinError
from tests.hostile import answers as A
from tests.hostile.harness import Outcome, Servers, decode_problem, run_target
from tests.hostile.server import BOMB_PNG, PNG_GARBAGE, PNG_TRUNCATED, Answer

BOTH = ("sync", "async")


def assert_fails_with_task_id(outcome: Outcome, servers: Servers) -> None:
    """The call raised a KleinError naming the accepted task (and returned no image)."""
    (task_id,) = servers.api.accepted_ids()
    assert outcome.raised is not None, f"no error: {outcome.describe()}"
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    assert outcome.raised.task_id == task_id, outcome.describe()
    assert outcome.raised.maybe_accepted is True


def assert_image_or_task_id(outcome: Outcome, servers: Servers) -> None:
    """Either a decodable image came back, or an error naming the accepted task."""
    if outcome.raised is None:
        (generation,) = outcome.generations
        assert decode_problem(generation.image) is None
    else:
        assert_fails_with_task_id(outcome, servers)


def poll_says(*outputs: str) -> dict:
    return A.only("result", A.json_answer(A.envelope(outputs=list(outputs))))


@pytest.mark.parametrize("target", BOTH)
def test_relative_output_url_error_carries_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, poll_says("/img/%ID%.png"))
    assert_image_or_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_file_url_output_error_carries_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, poll_says("file:///etc/passwd"))
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_invalid_base64_is_error_with_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, poll_says("!!!notbase64!!!"), base64_output=True)
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_short_base64_is_not_an_image(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, poll_says("abcd"), base64_output=True)
    assert_fails_with_task_id(outcome, servers)
    assert not list(outcome.gallery.rglob("*.bin")), "a bogus image was saved"


@pytest.mark.parametrize("target", BOTH)
def test_data_url_without_a_comma_is_error_with_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, poll_says("data:image/png"), base64_output=True)
    assert_fails_with_task_id(outcome, servers)


def test_plain_text_output_is_error_with_task_id(servers: Servers) -> None:
    outcome = run_target("sync", servers, poll_says("hello world"))
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_png_signature_garbage_rejected(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("image", Answer(body=PNG_GARBAGE, repeat=10)))
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_decompression_bomb_refused(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("image", Answer(body=BOMB_PNG, repeat=10)))
    assert_fails_with_task_id(outcome, servers)


def test_truncated_png_rejected(servers: Servers) -> None:
    outcome = run_target("sync", servers, A.only("image", Answer(body=PNG_TRUNCATED, repeat=10)))
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_download_403_error_carries_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("image", Answer(403, body=b"denied")))
    assert_fails_with_task_id(outcome, servers)
    assert "API key" not in str(outcome.raised)


@pytest.mark.parametrize("target", BOTH)
def test_download_connection_errors_carry_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("image", Answer(drop="reset", repeat=7)))
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_poll_connection_errors_carry_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("result", Answer(drop="before", repeat=7)))
    assert_fails_with_task_id(outcome, servers)


def test_poll_401_error_carries_task_id(servers: Servers) -> None:
    outcome = run_target("sync", servers, A.only("result", A.json_answer(b"{}", 401)))
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_poll_404_error_carries_task_id(target: str, servers: Servers) -> None:
    """An error status on a poll names the task."""
    outcome = run_target(target, servers, A.only("result", A.json_answer(b"{}", 404)))
    assert_fails_with_task_id(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_base64_and_jpeg_outputs_are_returned(target: str, servers: Servers) -> None:
    """Naked base64 (and a JPEG from the CDN) decode into real images."""
    outcome = run_target(target, servers, base64_output=True)
    assert outcome.raised is None, outcome.describe()
    assert decode_problem(outcome.generations[0].image) is None
    jpeg = Answer(headers=(("Content-Type", "image/jpeg"),), body=A.JPEG)
    outcome = run_target(target, servers, A.only("image", jpeg))
    assert outcome.raised is None, outcome.describe()
    assert outcome.generations[0].format == "jpeg"
