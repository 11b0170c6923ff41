"""Issue 11, hangs and memory: one overall deadline and a size limit on every body.

Each call gets ``timeout=0.5`` (and the harness's short download grace, 0.5 s) and must
end within the bound the package documents for it (`harness.time_bound`: the timeout, plus
the client's ``download_grace`` only where an image download ran, plus a stated slack); the
server holds, trickles or streams for 3 s (an endless body also stops at the memory
watchdog, 100 MB), so a client that only has per-read timeouts overruns visibly. The check
itself is shown to fail on a call that is too slow.
"""

from __future__ import annotations

import time

import pytest

import klein_widget
from klein_widget import KleinError
from tests.hostile import answers as A
from tests.hostile.harness import (
    MEMORY_LIMIT,
    SLACK,
    Outcome,
    Servers,
    bounded,
    check_invariants,
    run_target,
    time_bound,
)
from tests.hostile.server import PNG, Answer, envelope, json_answer

BOTH = ("sync", "async")
TIMEOUT = 0.5
HELD = 3.0  # seconds the server holds, trickles or streams: > TIMEOUT + GRACE + SLACK (2 s)


def bounded_run(target: str, servers: Servers, scripts: dict) -> Outcome:
    servers.api.stream_seconds = servers.img.stream_seconds = HELD
    return run_target(target, servers, scripts, timeout=TIMEOUT)


def assert_in_time(outcome: Outcome, servers: Servers) -> None:
    bound = time_bound(outcome)
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


def slow_call(servers: Servers, *, downloads: int) -> Outcome:
    """A call that takes half a second more than a poll-only call may."""
    outcome = Outcome("sync", TIMEOUT, 1, downloads=downloads)
    bounded(lambda: time.sleep(TIMEOUT + SLACK + 0.5), servers, outcome)
    return outcome


def test_the_deadline_check_fails_on_a_slow_call(servers: Servers) -> None:
    outcome = slow_call(servers, downloads=0)
    with pytest.raises(AssertionError, match=r"\[1 deadline\] took 2\.\d+ s > 1\.5 s"):
        check_invariants(outcome, servers)


def test_only_a_download_gets_the_grace(servers: Servers) -> None:
    outcome = slow_call(servers, downloads=1)
    assert time_bound(outcome) == TIMEOUT + SLACK + klein_widget.DOWNLOAD_GRACE
    check_invariants(outcome, servers)  # the same 2 s pass once an image was downloading


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
    assert outcome.downloads == 0
    assert_in_time(outcome, servers)


def test_trickling_image_respects_deadline(servers: Servers) -> None:
    trickle = Answer(headers=A.PNG_TYPE, body=PNG, trickle=0.2)
    outcome = bounded_run("sync", servers, A.only("image", trickle))
    assert_in_time(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_slow_trickling_image_ends_within_the_grace(target: str, servers: Servers) -> None:
    """An image answering a byte every 4 s, with a download grace of 5 s: every read is
    within httpx's read timeout (the time left, 5 s), so only an overall deadline ends the
    download at the grace. Without it the call takes ~8 s (the byte after the grace); the
    bound is 6.5 s. (The default grace, 30 s, works alike with a 12 s trickle: ~31 s.)"""
    grace = 5.0
    servers.api.stream_seconds = servers.img.stream_seconds = grace + 15
    trickle = Answer(headers=A.PNG_TYPE, body=PNG, trickle=4.0)
    outcome = run_target(target, servers, A.only("image", trickle), timeout=TIMEOUT, grace=grace)
    assert outcome.downloads >= 1, outcome.describe()
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    assert_in_time(outcome, servers)


@pytest.mark.parametrize("target", BOTH)
def test_unanswered_poll_respects_deadline(target: str, servers: Servers) -> None:
    outcome = bounded_run(target, servers, A.only("result", Answer(hold=True)))
    assert_in_time(outcome, servers)


def test_unanswered_submit_respects_deadline(servers: Servers) -> None:
    outcome = bounded_run("sync", servers, A.only("submit", Answer(hold=True)))
    assert outcome.downloads == 0
    assert_in_time(outcome, servers)
    assert isinstance(outcome.raised, KleinError), outcome.describe()
    assert outcome.raised.maybe_accepted is True  # it reached the server: maybe billed
    assert servers.api.count("submit") == 1


@pytest.mark.parametrize("target", BOTH)
def test_slow_but_timely_answers_are_waited_for(target: str, servers: Servers) -> None:
    """A poll answered after 0.6 s (well within the 2 s deadline) is not given up on.

    (2 s, not 0.5: on a loaded machine the submit alone can take most of half a second.)"""
    late = json_answer(envelope(), delay=0.6)
    outcome = run_target(target, servers, A.only("result", late), timeout=2.0)
    assert outcome.raised is None, outcome.describe()
    assert_in_time(outcome, servers)
