"""The pure decisions: envelopes and error mapping (_envelope), retries and polling (_policy)."""

from __future__ import annotations

import itertools
import json
import random

import httpx
import pytest

from klein_widget import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    PollSchedule,
    RateLimitError,
    RetryPolicy,
)
from klein_widget.client import _config, _envelope, _policy, _redact

KEY = "wsk-secret-123456"


def response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers or {})


def test_envelope_data_is_returned() -> None:
    data = _envelope.parse_envelope(
        response(200, {"code": 200, "message": "success", "data": {"id": "t"}})
    )
    assert data == {"id": "t"}


def test_envelope_code_is_checked_even_when_http_says_200() -> None:
    with pytest.raises(AuthenticationError) as caught:
        _envelope.parse_envelope(response(200, {"code": 401, "message": "invalid authentication"}))
    assert caught.value.status_code == 401
    assert "invalid authentication" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "bad size", "error_code": 1001}, "bad size"),
        ({"error": "quota exceeded"}, "quota exceeded"),
        ({"detail": "nope"}, "nope"),
        (b"<html><body>502 Bad Gateway</body></html>", "HTML page instead of JSON"),
        (b"plain words", "plain words"),
    ],
)
def test_error_bodies_of_every_known_shape_give_their_message(body: object, expected: str) -> None:
    with pytest.raises(APIStatusError, match=expected):
        _envelope.parse_envelope(response(418, body))


def test_rate_limit_carries_retry_after() -> None:
    with pytest.raises(RateLimitError) as caught:
        _envelope.parse_envelope(response(429, {"message": "slow down"}, {"Retry-After": "7"}))
    assert caught.value.retry_after == 7.0


def test_non_json_success_is_a_retryable_gateway_error() -> None:
    with pytest.raises(APIStatusError) as caught:
        _envelope.parse_envelope(response(200, b"<html>oops</html>"))
    assert caught.value.status_code == 502
    assert _policy.should_retry_read(caught.value)


def test_server_messages_are_redacted() -> None:
    with pytest.raises(APIStatusError) as caught:
        _envelope.parse_envelope(response(500, {"message": f"bad header Bearer {KEY}"}), secret=KEY)
    assert KEY not in str(caught.value)
    assert "[redacted]" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (504, b"<html>Gateway Timeout</html>", (True, None)),
        (200, {"code": 5004, "data": {"id": "t1", "status": "processing"}}, (True, "t1")),
        (
            200,
            {
                "code": 200,
                "data": {
                    "id": "t2",
                    "status": "processing",
                    "error": "Sync mode timed out after 60s",
                },
            },
            (True, "t2"),
        ),
        (200, {"code": 200, "data": {"id": "t3", "status": "completed"}}, (False, "t3")),
    ],
)
def test_sync_timeouts_are_recognised(
    status: int, body: object, expected: tuple[bool, str | None]
) -> None:
    assert _envelope.sync_timeout_task(response(status, body)) == expected


def test_short_test_keys_are_not_redacted_out_of_words() -> None:
    assert _redact.redact("klein emulator", "k") == "klein emulator"
    assert _redact.redact(f"key {KEY} here", KEY) == "key [redacted] here"


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert _envelope.parse_retry_after("3") == 3.0
    assert _envelope.parse_retry_after(None) is None
    assert _envelope.parse_retry_after("soon") is None
    assert _envelope.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    delays = [policy.delay(attempt, None, rng) for attempt in range(1, 7)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(8.0, 2.0 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert policy.delay(1, 12.5, rng) == 12.5  # the server's word wins


def test_submit_is_retried_only_when_surely_not_accepted() -> None:
    assert _policy.should_retry_submit(RateLimitError("429"))
    assert _policy.should_retry_submit(APIConnectionError("refused"))
    assert not _policy.should_retry_submit(APIConnectionError("broke", maybe_accepted=True))
    assert not _policy.should_retry_submit(APIStatusError("500", status_code=500))


def test_connection_errors_know_whether_the_request_may_have_landed() -> None:
    request = httpx.Request("POST", "http://x")
    never = _envelope.connection_error(
        httpx.ConnectError("refused", request=request), during="submit"
    )
    maybe = _envelope.connection_error(httpx.ReadTimeout("slow", request=request), during="submit")
    assert not never.maybe_accepted
    assert maybe.maybe_accepted
    assert "not sent again" in str(maybe)


def test_poll_schedule_waits_for_expected_time_then_polls_fast_and_caps() -> None:
    schedule = PollSchedule(fast=0.025, factor=2.0, cap=0.1, lead=0.9)
    first, *rest = itertools.islice(schedule.delays(expected=0.6), 22)
    assert first == pytest.approx(0.54)
    steady = rest[:15]  # from 0.9x to 1.5x the expected time, every 25 ms
    assert steady == [0.025] * 15
    assert rest[15:] == [0.025, 0.05, 0.1, 0.1, 0.1, 0.1]
    assert next(schedule.delays(expected=0.6, elapsed=0.7)) == 0.0


def test_poll_schedule_without_expectation_starts_fast() -> None:
    delays = list(itertools.islice(PollSchedule(fast=0.025, factor=1.25, cap=1.0).delays(None), 40))
    assert delays[0] == 0.05
    assert delays == sorted(delays)
    assert delays[-1] == 1.0


def test_a_first_guess_stands_in_until_a_time_is_learned() -> None:
    schedule = PollSchedule(fast=0.02, lead=0.95, first_guess=0.5)
    assert next(schedule.delays(None)) == pytest.approx(0.475)
    assert next(schedule.delays(0.6)) == pytest.approx(0.57)  # learned time wins
    assert _policy.DEFAULT_POLL.first_guess == 0.5


def test_inference_time_is_learned_per_size() -> None:
    times = _policy.InferenceTimes()
    assert times.expected(1024 * 1024) is None
    for observed in (600, 600, 600):
        times.learn(1024 * 1024, observed)
    assert times.expected(1024 * 1024) == pytest.approx(0.6)
    times.learn(1024 * 1024, None)  # nothing reported: nothing learned
    assert times.expected(1024 * 1024) == pytest.approx(0.6)
    times.learn(1024 * 1024, 1600)
    assert times.expected(1024 * 1024) == pytest.approx(0.9)


def test_unseen_sizes_get_a_lower_bound_from_the_others() -> None:
    times = _policy.InferenceTimes()
    times.learn(1536 * 1536, 1400)
    # After big images, a small one is expected scaled down by pixels, not 1.4 s.
    assert times.expected(512 * 512) == pytest.approx(1.4 / 9)
    times.learn(256 * 256, 200)
    # A bigger unseen size takes at least what a smaller one took: the tighter bound wins.
    assert times.expected(512 * 512) == pytest.approx(0.2)
    assert times.expected(1024 * 1024) == pytest.approx(1.4 * 4 / 9)


def test_configuration_comes_from_arguments_then_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAVESPEED_API_KEY", " env-key ")
    monkeypatch.setenv("WAVESPEED_BASE_URL", "http://env/")
    assert _config.resolve_api_key(None) == "env-key"
    assert _config.resolve_api_key("arg") == "arg"
    assert _config.resolve_base_url(None) == "http://env"
    assert _config.resolve_base_url("http://arg/") == "http://arg"
    monkeypatch.delenv("WAVESPEED_BASE_URL")
    assert _config.resolve_base_url(None) == "https://api.wavespeed.ai"
