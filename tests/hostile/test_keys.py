"""Issue 11, the key: refused before sending if it cannot be a header; never in an error,
a log line, the gallery, or a request to another origin."""

from __future__ import annotations

import logging

import pytest

from klein_widget import KleinError
from tests.hostile import answers as A
from tests.hostile.harness import KEY, Outcome, Servers, check_invariants, error_texts, run_target
from tests.hostile.server import RESULT_PATH_TEMPLATE, Answer

BOTH = ("sync", "async")
HEAD, TAIL = "wsk-hostile-CANARY", "7f3a9e"


def assert_refused_before_sending(outcome: Outcome, servers: Servers) -> None:
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    assert servers.api.requests == [], "a request was sent with an unusable key"
    for text in error_texts(outcome.raised):
        assert HEAD not in text, f"the key is in the error: {text[:300]!r}"
        assert TAIL not in text, f"the key is in the error: {text[:300]!r}"
    if outcome.client is not None:
        assert outcome.client.spend.images == 0, "nothing was sent, yet it is counted as spent"


@pytest.mark.parametrize("char", ["\n", "\r", "\x00", "\t"], ids=["LF", "CR", "NUL", "TAB"])
@pytest.mark.parametrize("target", BOTH)
def test_key_with_newline_refused_before_sending(target: str, char: str, servers: Servers) -> None:
    outcome = run_target(target, servers, key=HEAD + char + TAIL)
    assert_refused_before_sending(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_non_ascii_key_refused(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, key=HEAD + "-" + TAIL + "\u00e9")
    assert_refused_before_sending(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_failed_task_error_text_is_redacted(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("result", A.FAILED_ECHO))
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    for text in error_texts(outcome.raised):
        assert KEY not in text, text[:300]


@pytest.mark.parametrize("target", BOTH)
def test_key_never_sent_to_other_origin(
    target: str, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    """The CDN, and a poll redirected to another origin, never see the key."""
    to_other = Answer(307, headers=(("Location", "%OTHER%" + RESULT_PATH_TEMPLATE),))
    with caplog.at_level(logging.DEBUG):
        outcome = run_target(target, servers, A.only("result", to_other))
    assert outcome.raised is None, outcome.describe()
    assert servers.img.count("result") == 1  # the redirect was followed, without the key
    assert servers.img.count("image") == 1
    for request in servers.img.requests:
        assert "authorization" not in request.headers
    own = [r.headers.get("authorization") for r in servers.api.requests]
    assert own == [f"Bearer {KEY}"] * len(own)  # only ever to the API's own origin
    check_invariants(outcome, servers, caplog.records)


@pytest.mark.parametrize("target", BOTH)
def test_echoed_key_is_redacted_in_errors_and_logs(
    target: str, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    """An error body that echoes the key is redacted in the error and logs."""
    echo = A.json_answer(b'{"message":"you sent %AUTH%"}', 400)
    with caplog.at_level(logging.DEBUG):
        outcome = run_target(target, servers, A.only("submit", echo))
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    assert "[redacted]" in str(outcome.raised)
    check_invariants(outcome, servers, caplog.records)


@pytest.mark.parametrize("target", BOTH)
def test_key_echoed_in_a_header_stays_out_of_logs(
    target: str, servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    echo = Answer(500, headers=(("X-Echo", "%AUTH%"),), body=b"{}")
    with caplog.at_level(logging.DEBUG):
        outcome = run_target(target, servers, A.only("result", echo))
    assert outcome.raised is None, outcome.describe()  # retried: the next poll succeeds
    check_invariants(outcome, servers, caplog.records)
