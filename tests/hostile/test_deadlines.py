"""Issue 11, hangs and memory: one overall deadline and a size limit on every body.

Each call gets ``timeout=0.5`` and must end within ``timeout + SLACK`` (see the
harness); the server holds, trickles or streams for 2 s (an endless body also stops at the memory
watchdog, 100 MB), so a client that only has per-read timeouts overruns visibly but
boundedly.
"""

from __future__ import annotations

import pytest

import klein_widget
from klein_widget import KleinError
from tests.hostile import answers as A
from tests.hostile.harness import MEMORY_LIMIT, SLACK, Outcome, Servers, run_target
from tests.hostile.server import PNG, Answer, envelope, json_answer

BOTH = ("sync", "async")
TIMEOUT = 0.5
HELD = 2.0  # seconds the server holds, trickles or streams: > TIMEOUT + SLACK


def bounded_run(target: str, servers: Servers, scripts: dict) -> Outcome:
    servers.api.stream_seconds = servers.img.stream_seconds = HELD
    return run_target(target, servers, scripts, timeout=TIMEOUT)


def assert_in_time(outcome: Outcome, servers: Servers) -> None:
    grace = float(getattr(klein_widget, "DOWNLOAD_GRACE", 0.0) or 0.0)
    bound = TIMEOUT + SLACK + grace
    assert outcome.finished, outcome.describe()
    assert outcome.elapsed <= bound, f"took {outcome.elapsed:.2f} s > {bound:g} s"
    assert_task_kept(outcome, servers)


def assert_task_kept(outcome: Outcome, servers: Servers) -> None:
    """If it failed after the server accepted the task, the error says which task."""
    if outcome.raised is None:
        return
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    accepted = servers.api.accepted_ids()
    if accepted:
        assert outcome.raised.task_id == accepted[-1], outcome.describe()
        assert outcome.raised.maybe_accepted is True


def assert_small(outcome: Outcome) -> None:
    assert outcome.peak_memory < MEMORY_LIMIT, (
        f"allocated {outcome.peak_memory / 2**20:.0f} MB (the watchdog stops the server at "
        f"{MEMORY_LIMIT / 2**20:.0f} MB)"
    )


@pytest.mark.parametrize("target", BOTH)
def test_endless_image_body_is_capped(target: str, servers: Servers) -> None:
    outcome = bounded_run(target, servers, A.only("image", A.ENDLESS_IMAGE))
    assert_small(outcome)
    assert_in_time(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_endless_poll_body_is_capped(target: str, servers: Servers) -> None:
    endless = Answer(body=b'{"code":200,"data":{"id":"%ID%","pad":"', endless=True)
    outcome = bounded_run(target, servers, A.only("result", endless))
    assert_small(outcome)
    assert_in_time(outcome, servers)


def test_huge_poll_body_is_capped(servers: Servers) -> None:
    huge = json_answer(envelope(), pad=200 * 2**20)
    outcome = bounded_run("sync", servers, A.only("result", huge))
    assert_small(outcome)


@pytest.mark.parametrize("target", BOTH)
def test_trickling_body_respects_deadline(target: str, servers: Servers) -> None:
    trickle = json_answer(envelope(status="processing", outputs=[]), trickle=0.2)
    outcome = bounded_run(target, servers, A.only("result", trickle))
    assert_in_time(outcome, servers)


def test_trickling_image_respects_deadline(servers: Servers) -> None:
    trickle = Answer(headers=A.PNG_TYPE, body=PNG, trickle=0.2)
    outcome = bounded_run("sync", servers, A.only("image", trickle))
    assert_in_time(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_unanswered_poll_respects_deadline(target: str, servers: Servers) -> None:
    outcome = bounded_run(target, servers, A.only("result", Answer(hold=True)))
    assert_in_time(outcome, servers)


def test_unanswered_submit_respects_deadline(servers: Servers) -> None:
    outcome = bounded_run("sync", servers, A.only("submit", Answer(hold=True)))
    assert_in_time(outcome, servers)
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    assert outcome.raised.maybe_accepted is True  # it reached the server: maybe billed
    assert servers.api.count("submit") == 1


@pytest.mark.parametrize("target", BOTH)
def test_slow_but_timely_answers_are_waited_for(target: str, servers: Servers) -> None:
    """A poll answered after 0.3 s (within the deadline) is not given up on."""
    late = json_answer(envelope(), delay=0.3)
    outcome = bounded_run(target, servers, A.only("result", late))
    assert outcome.raised is None, outcome.describe()
    assert_in_time(outcome, servers)
