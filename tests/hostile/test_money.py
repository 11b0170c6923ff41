"""Issue 11, money: a billed task is never treated as refused, never submitted twice, never
left out of the spend, the budget or the journal."""

from __future__ import annotations

import pytest

from klein_widget import Gallery, KleinError
from tests.hostile import answers as A
from tests.hostile.harness import PROMPTS, Servers, check_invariants, run_target
from tests.hostile.server import SUBMIT_PATH, Answer, Request, envelope, json_answer, nested

BOTH = ("sync", "async")
BATCHES = ("batch", "abatch")


def first_polls_rate_limited(times: int) -> object:
    """A rule: the first ``times`` polls of every task answer 429 (Retry-After: 0)."""
    seen: dict[str, int] = {}

    def rule(request: Request) -> Answer | None:
        if request.route != "result" or request.task_id is None:
            return None
        seen[request.task_id] = seen.get(request.task_id, 0) + 1
        if seen[request.task_id] <= times:
            return A.with_retry_after(429, "0", b'{"message":"too many requests"}')
        return None

    return rule


@pytest.mark.parametrize("target", BATCHES)
def test_poll_429_does_not_resubmit_batch(target: str, servers: Servers) -> None:
    outcome = run_target(
        target, servers, rule=first_polls_rate_limited(7), timeout=5.0, max_spend=None
    )
    assert outcome.finished
    submits = servers.submit_count()
    assert submits <= len(PROMPTS), f"{submits} submits for {len(PROMPTS)} images"
    accepted = set(servers.api.accepted_ids())
    for item in outcome.result:
        assert item.ok or getattr(item.error, "task_id", None) in accepted, item.error


@pytest.mark.parametrize("target", BOTH)
def test_poll_429_error_carries_task_id(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("result", A.POLL_429))
    (task_id,) = servers.api.accepted_ids()
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    assert outcome.raised.task_id == task_id, outcome.describe()
    assert outcome.raised.maybe_accepted is True


def _wrong_shape_on_submit(target: str, servers: Servers, answer: Answer) -> None:
    outcome = run_target(target, servers, A.only("submit", answer))
    (task_id,) = servers.api.accepted_ids()
    error = outcome.raised
    assert isinstance(error, KleinError), outcome.describe()
    assert error.task_id == task_id, outcome.describe()
    assert error.maybe_accepted is True
    assert outcome.client.spend.images == 1, "the accepted task is not counted"
    assert Gallery(outcome.gallery).entry(task_id) is not None, "the task is not journaled"
    check_invariants(outcome, servers)  # also: the max_spend reservation was released


@pytest.mark.parametrize("target", BOTH)
def test_outputs_not_a_list_is_klein_error_and_journaled(target: str, servers: Servers) -> None:
    _wrong_shape_on_submit(target, servers, json_answer(envelope(outputs=7)))


@pytest.mark.parametrize("target", BOTH)
def test_urls_not_an_object_is_klein_error_and_journaled(target: str, servers: Servers) -> None:
    _wrong_shape_on_submit(target, servers, json_answer(envelope(urls=["x"])))


@pytest.mark.parametrize("target", BOTH)
def test_deeply_nested_submit_answer_is_klein_error(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("submit", json_answer(nested(100_000))))
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    check_invariants(outcome, servers)


def test_resume_survives_wrong_shape_poll(servers: Servers) -> None:
    def always_wrong(request: Request) -> Answer | None:
        return json_answer(envelope(outputs=7)) if request.route == "result" else None

    first = run_target("resume", servers, rule=always_wrong)
    assert first.raised is None, first.describe()
    assert first.prepared in first.result.retry_later or first.prepared in first.result.failed


@pytest.mark.parametrize("target", BOTH)
def test_submit_redirect_to_other_origin_not_followed(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("submit", A.SUBMIT_307_OTHER))
    assert servers.img.count("submit") == 0, "the submit was re-sent to another origin"
    assert servers.api.count("submit") == 1
    assert isinstance(outcome.raised, KleinError), outcome.describe()


@pytest.mark.parametrize("code", [307, 308])
def test_submit_redirect_same_origin_not_followed(code: int, servers: Servers) -> None:
    redirect = Answer(code, headers=(("Location", "%BASE%" + SUBMIT_PATH),))
    run_target("sync", servers, A.only("submit", redirect))
    assert servers.api.count("submit") == 1, f"{servers.api.count('submit')} submits"


@pytest.mark.parametrize("target", BATCHES)
def test_batch_submit_429_long_retry_after_is_bounded(target: str, servers: Servers) -> None:
    outcome = run_target(target, servers, A.only("submit", A.SUBMIT_429_LONG), timeout=0.5)
    check_invariants(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_submit_429_is_retried_and_billed_once(target: str, servers: Servers) -> None:
    """A 429 on the submit itself proves the task was refused: send it again."""
    refused = A.with_retry_after(429, "0", b'{"message":"slow down"}')
    outcome = run_target(target, servers, A.only("submit", refused, refused))
    assert outcome.raised is None, outcome.describe()
    assert servers.api.count("submit") == 3
    assert outcome.client.spend.images == 1
    check_invariants(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_dropped_submit_is_not_resent(target: str, servers: Servers) -> None:
    """A submit whose connection broke after sending may be billed: no resend."""
    outcome = run_target(target, servers, A.only("submit", Answer(drop="before")))
    assert servers.api.count("submit") == 1
    assert isinstance(outcome.raised, KleinError)
    assert outcome.raised.maybe_accepted
    assert outcome.client.spend.images == 1
    check_invariants(outcome, servers)
