"""Pacing to WaveSpeed's rate limits (issue 17): learned from 429s, or given, with a countdown.

The pacer's rules run on a hand-moved clock (a Bronze minute in no time); the batches run
on the emulator playing Bronze (2 images per window, 2 at once) with its window shortened
by configuration to 1 s, and the client told the same window, so they take seconds.
"""

from __future__ import annotations

import pytest

from klein_widget.client import Pacer, RateLimit
from klein_widget.client._run import Progress
from klein_widget.emulator import Emulator
from tests.client.conftest import MakeClient

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
WINDOW = 1.0  # seconds: the emulator's Bronze "minute" here


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bronze_minute_costs_one_429_then_the_pacer_knows() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)  # nothing known: WaveSpeed's minute, count to learn
    assert pacer.claim() == 0.0  # one submit in flight at first...
    assert pacer.claim() > 0  # ...and no second until it is answered
    pacer.accepted()
    assert pacer.claim() == 0.0  # then two
    assert pacer.claim() == 0.0
    pacer.accepted()
    clock.now += 0.2
    pacer.refused(retry_after=60.0)  # Bronze: the third of the minute is refused

    assert pacer.limit == RateLimit(2, per=60.0)  # learned: two accepted in that window
    assert pacer.free() == 0
    assert pacer.wait() == pytest.approx(60.0)
    assert pacer.note() == (
        "rate limit: next image in 60 s; WaveSpeed allows 2 a minute on this account"
    )
    clock.now += 60.0
    for _ in range(2):  # the next minute: two go, the third waits for the minute after
        assert pacer.claim() == 0.0
        pacer.accepted()
    assert pacer.claim() == pytest.approx(60.0)
    assert pacer.refusals == 1


def test_a_shorter_window_is_read_off_the_retry_after() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    assert pacer.claim() == 0.0
    pacer.accepted()
    assert pacer.claim() == 0.0
    assert pacer.claim() == 0.0
    pacer.accepted()
    clock.now += 0.01
    pacer.refused(retry_after=1.0)  # a server whose window is a second, not a minute

    assert pacer.limit is not None
    assert pacer.limit.images == 2
    assert pacer.limit.per == pytest.approx(1.01)  # not WaveSpeed's minute: no 60 s wait
    clock.now += 1.0
    assert pacer.claim() == 0.0


def test_a_given_limit_is_kept_and_never_relearned() -> None:
    clock = Clock()
    pacer = Pacer(RateLimit(500), clock=clock)  # Silver
    for _ in range(500):
        assert pacer.claim() == 0.0
        pacer.accepted()
    assert pacer.claim() == pytest.approx(60.0)
    pacer.refused(retry_after=5.0)
    assert pacer.limit == RateLimit(500)


def test_rate_limit_option_takes_images_per_minute(make_client: MakeClient) -> None:
    assert make_client(rate_limit=2).client.pacer.limit == RateLimit(2, per=60.0)
    with pytest.raises(ValueError, match="rate_limit"):
        make_client(rate_limit=0)


def _bronze(emulator: Emulator) -> None:
    emulator.configure(tier="bronze", rate_window=WINDOW, inference_time=0.02)


def _refusals_per_window(emulator: Emulator) -> list[int]:
    refused = [r.at for r in emulator.requests if r.path == SUBMIT and r.status == 429]
    if not refused:
        return []
    first = min(r.at for r in emulator.requests)
    counts: dict[int, int] = {}
    for at in refused:
        counts[int((at - first) // WINDOW)] = counts.get(int((at - first) // WINDOW), 0) + 1
    return list(counts.values())


async def test_a_grid_on_bronze_learns_the_limit_and_fails_nothing(
    make_client: MakeClient, emulator: Emulator
) -> None:
    _bronze(emulator)
    klein = make_client(rate_limit=Pacer(window=WINDOW))
    heard: list[Progress] = []

    result = await klein(
        "generate_many",
        [f"a fox, style {i}" for i in range(6)],
        width=256,
        height=256,
        seed=1,
        on_progress=heard.append,
    )

    assert [item.ok for item in result] == [True] * 6
    assert emulator.count("POST", SUBMIT, status=200) == 6  # one paid submit per image
    assert max(_refusals_per_window(emulator), default=0) <= 1  # at most one 429 a window
    learned = klein.client.pacer.limit
    assert learned is not None
    assert learned.per == WINDOW
    # Never more than the server allows; on a loaded machine a late answer can make the
    # count 1 (slower, still no failure), so the exact 2 is checked on the clock above.
    assert 1 <= learned.images <= 2
    notes = [p.note for p in heard if p.stage == "rate_limited" and p.wait]
    assert notes, "the wait was silent"
    assert "next image in" in notes[-1]
    assert f"WaveSpeed allows {learned.images} per {WINDOW:g} s on this account" in notes[-1]


async def test_a_given_limit_meets_no_429_at_all(
    make_client: MakeClient, emulator: Emulator
) -> None:
    _bronze(emulator)
    klein = make_client(rate_limit=RateLimit(2, per=WINDOW))

    result = await klein("generate_many", [f"a heron {i}" for i in range(5)], seed=2)

    assert len(result.generations) == 5
    assert emulator.count("POST", SUBMIT, status=429) == 0
    assert emulator.count("POST", SUBMIT, status=200) == 5


async def test_one_call_that_cannot_go_before_its_timeout_sends_nothing(
    make_client: MakeClient, emulator: Emulator
) -> None:
    _bronze(emulator)
    klein = make_client(rate_limit=RateLimit(1, per=60.0))
    await klein("generate", "a fox", width=256, height=256, seed=3)

    with pytest.raises(Exception, match="rate limit: next image in") as caught:
        await klein("generate", "a fox", width=256, height=256, seed=4, timeout=5)

    assert caught.value.maybe_accepted is False  # type: ignore[attr-defined]
    assert emulator.count("POST", SUBMIT) == 1  # the second was never sent
