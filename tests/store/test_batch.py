"""generate_many: order, per-item errors, reruns that skip, seeds, cost confirmation, AIMD."""

from __future__ import annotations

import asyncio
import os
import pty
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from klein_widget import (
    AsyncKleinClient,
    BudgetExceededError,
    Gallery,
    GenerationFailedError,
    GenerationRequest,
    InvalidRequestError,
    KleinClient,
    RetryPolicy,
)
from klein_widget.client.batch._concurrency import Concurrency
from klein_widget.client.batch._plan import build_requests, check_cost, plan_batch
from klein_widget.emulator import Emulator, RunningEmulator
from tests.conftest import FAKE_KEY
from tests.store.conftest import ROOT, SUBMIT_PATH

PROMPTS = ["a red fox", "a blue heron", "a green frog", "a grey owl", "a gold carp"]
SMALL = {"width": 256, "height": 256}


async def batch(client: KleinClient | AsyncKleinClient, *args: Any, **kwargs: Any) -> Any:
    """Run either client's generate_many (the sync one in a worker thread)."""
    if isinstance(client, AsyncKleinClient):
        return await client.generate_many(*args, **kwargs)
    return await asyncio.to_thread(client.generate_many, *args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def klein(
    request: pytest.FixtureRequest, client: KleinClient, async_client: AsyncKleinClient
) -> KleinClient | AsyncKleinClient:
    return client if request.param == "sync" else async_client


async def test_results_come_back_in_input_order(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator
) -> None:
    result = await batch(klein, PROMPTS, seed=3, **SMALL)

    assert [item.request.prompt for item in result] == PROMPTS
    assert [item.index for item in result] == list(range(5))
    assert [g.prompt for g in result.generations] == PROMPTS
    assert all(item.ok and not item.skipped for item in result)
    assert all(g.seed == 3 and g.path is not None for g in result.generations)
    assert result.errors == []
    assert repr(result) == "BatchResult(5 items: 5 generated)"
    assert emulator.count("POST", SUBMIT_PATH) == 5


async def test_one_failure_loses_nothing_else(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator, isolated: Path
) -> None:
    emulator.script("task", "ok", "ok", "fail")  # the third task accepted fails

    result = await batch(klein, PROMPTS, seed=1, concurrency=1, **SMALL)

    assert [item.ok for item in result] == [True, True, False, True, True]
    [(index, error)] = result.errors
    assert index == 2
    assert isinstance(error, GenerationFailedError)
    assert repr(result) == "BatchResult(5 items: 4 generated, 1 failed)"
    with pytest.raises(GenerationFailedError):
        result.raise_for_errors()
    # Marked failed in the journal, so resume() will not chase it.
    assert Gallery(isolated).pending() == []


async def test_rerun_skips_what_the_gallery_has(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator
) -> None:
    first = await batch(klein, PROMPTS[:3], seed=5, **SMALL)
    again = await batch(klein, PROMPTS, seed=5, **SMALL)

    assert [item.skipped for item in again] == [True, True, True, False, False]
    assert repr(again) == "BatchResult(5 items: 2 generated, 3 from the gallery)"
    for before, after in zip(first, again, strict=False):
        assert after.generation is not None
        assert before.generation is not None
        assert after.generation.task_id == before.generation.task_id
        assert after.generation.path == before.generation.path
        assert after.generation.image == before.generation.image  # the bytes as served
        assert after.generation.seed == 5
    assert emulator.count("POST", SUBMIT_PATH) == 5
    assert (await batch(klein, PROMPTS, seed=5, **SMALL)).skipped == 5
    assert emulator.count("POST", SUBMIT_PATH) == 5


async def test_fresh_generates_again(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator
) -> None:
    await batch(klein, PROMPTS[:2], seed=5, **SMALL)
    again = await batch(klein, PROMPTS[:2], seed=5, fresh=True, **SMALL)

    assert again.skipped == 0
    assert emulator.count("POST", SUBMIT_PATH) == 4


async def test_duplicates_in_one_batch_are_made_once(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator
) -> None:
    requests = [GenerationRequest("a fox", 256, 256, 1)] * 3 + ["a fox"]

    result = await batch(klein, requests, seed=2, **SMALL)

    assert emulator.count("POST", SUBMIT_PATH) == 2
    assert result[0].generation is result[1].generation is result[2].generation
    assert result[3].generation is not None
    assert result[3].generation.seed == 2


async def test_random_seeds_are_drawn_client_side_and_reproducible(
    emulator: Emulator, make_sync: Any
) -> None:
    first = make_sync(rng=random.Random(99)).generate_many(["a fox"] * 3, **SMALL)
    seeds = [item.request.seed for item in first]
    expected = build_requests(["a fox"] * 3, rng=random.Random(99))

    assert seeds == [r.seed for r in expected]
    assert -1 not in seeds
    assert [g.seed for g in first.generations] == seeds
    # The same seeded draw plans the same requests, but seeds drawn here are random to the
    # user: they never take an image already made (only seeds of your own do).
    again = make_sync(rng=random.Random(99)).generate_many(["a fox"] * 3, **SMALL)
    assert [item.request.seed for item in again] == seeds
    assert again.skipped == 0
    assert emulator.count("POST", SUBMIT_PATH) == 6


async def test_invalid_items_are_refused_before_anything_is_sent(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator
) -> None:
    with pytest.raises(InvalidRequestError, match=r"batch item 1: prompt is empty"):
        await batch(klein, ["a fox", "  ", "a cat"])
    with pytest.raises(InvalidRequestError, match="width must be from 256 to 1536"):
        await batch(klein, ["a fox"], width=4000)
    with pytest.raises(InvalidRequestError, match="list of prompts"):
        await batch(klein, "a fox")
    with pytest.raises(InvalidRequestError, match="concurrency"):
        await batch(klein, ["a fox"], concurrency=0)
    assert emulator.requests == []


async def test_expensive_batch_is_refused_without_confirmation(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator
) -> None:
    prompts = [f"fox {i}" for i in range(130)]  # 130 x $0.008 = $1.04

    with pytest.raises(BudgetExceededError, match=r"130 new images for \$1\.040.*confirm=False"):
        await batch(klein, prompts, confirm=False)
    with pytest.raises(BudgetExceededError, match=r"no input to ask|does not stop to ask"):
        await batch(klein, prompts)  # pytest gives no terminal to ask on
    with pytest.raises(BudgetExceededError, match=r"over confirm_over=\$0\.01"):
        await batch(klein, prompts[:2], confirm_over=0.01)
    assert emulator.requests == []

    result = await batch(klein, prompts[:2], confirm_over=0.01, confirm=True, **SMALL)
    assert len(result.generations) == 2
    result = await batch(klein, prompts[2:4], confirm_over=None, **SMALL)
    assert len(result.generations) == 2


def test_cost_counts_only_what_will_be_generated() -> None:
    requests = build_requests(["a", "b", "a"], seed=1)
    stored = {"b"}
    plan = plan_batch(requests, lambda r: object() if r.prompt in stored else None)  # type: ignore[arg-type,return-value]

    assert plan.cost_mills == 8
    assert plan.cost == 0.008
    assert sorted(plan.found) == [1]
    check_cost(plan, confirm=None, confirm_over=0.008)  # at the threshold: no question


_ASKS = """
from klein_widget import KleinClient, PollSchedule
result = KleinClient(poll=PollSchedule(fast=0.005, cap=0.05)).generate_many(
    ["a fox", "a cat"], width=256, height=256, seed=1, confirm_over=0.01, progress=False
)
print("MADE", len(result.generations))
"""


def _read_terminal(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the other side closed
        return b""


def _run_in_terminal(answer: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the batch in a real terminal (a pty) and type ``answer`` at its question."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", _ASKS],
        stdin=child,
        stdout=child,
        stderr=child,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )
    os.close(child)
    text = b""
    while b"[y/N]" not in text:
        chunk = _read_terminal(main)
        assert chunk, f"the batch never asked: {text!r}"
        text += chunk
    os.write(main, answer.encode() + b"\n")
    while chunk := _read_terminal(main):
        text += chunk
    proc.wait(timeout=60)
    os.close(main)
    return proc.returncode, text.decode().replace("\r\n", "\n")


def test_terminal_confirmation(live_emulator: RunningEmulator, isolated: Path) -> None:
    env = {
        "WAVESPEED_BASE_URL": live_emulator.base_url,
        "WAVESPEED_API_KEY": FAKE_KEY,
        "KLEIN_GALLERY": str(isolated),
    }
    submits = live_emulator.emulator.count("POST", SUBMIT_PATH)

    code, text = _run_in_terminal("n", env)
    assert code == 1
    assert "2 new images for $0.016, over confirm_over=$0.01. Go ahead? [y/N]" in text
    assert "Not confirmed, so nothing was sent" in text
    assert live_emulator.emulator.count("POST", SUBMIT_PATH) == submits

    code, text = _run_in_terminal("y", env)
    assert code == 0, text
    assert "MADE 2" in text
    assert live_emulator.emulator.count("POST", SUBMIT_PATH) == submits + 2


def test_no_stdin_refuses_instead_of_hanging(
    live_emulator: RunningEmulator, isolated: Path
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _ASKS],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WAVESPEED_BASE_URL": live_emulator.base_url,
            "WAVESPEED_API_KEY": FAKE_KEY,
            "KLEIN_GALLERY": str(isolated),
        },
        check=False,
    )

    assert proc.returncode == 1
    assert "BudgetExceededError" in proc.stderr
    assert "no input to ask for confirmation, so nothing was sent" in proc.stderr
    assert "Pass confirm=True" in proc.stderr


def test_text_progress_bar_on_stderr(
    client: KleinClient, capsys: pytest.CaptureFixture[str]
) -> None:
    client.generate_many(PROMPTS[:3], seed=1, progress=True, **SMALL)
    client.generate_many(PROMPTS, seed=1, progress=True, **SMALL)
    client.generate_many(PROMPTS[:2], seed=2, progress=False, **SMALL)
    client.generate_many(PROMPTS[:2], seed=3, **SMALL)  # stderr is no terminal here

    err = capsys.readouterr().err
    lines = err.split("\n")
    assert lines[0].rsplit("\r", 1)[-1] == "klein batch [########################] 3/3"
    last = lines[1].rsplit("\r", 1)[-1]
    assert last.startswith("klein batch [########################] 5/5, 3 from the gallery")
    assert lines[2:] == [""]


async def test_sync_batch_needs_no_event_loop_of_its_own(client: KleinClient) -> None:
    # Called straight from a coroutine, as a notebook cell runs on the kernel's loop.
    asyncio.get_running_loop()
    result = client.generate_many(PROMPTS[:2], seed=4, **SMALL)
    assert len(result.generations) == 2


async def test_batch_under_a_rate_limit_backs_off_and_finishes(
    make_sync: Any, emulator: Emulator, async_client: AsyncKleinClient
) -> None:
    emulator.configure(rate_limit=2, rate_window=0.3)
    control = Concurrency(maximum=6, start=6)
    # One attempt per submit: every 429 reaches the batch, which waits and requeues.
    client = make_sync(retry=RetryPolicy(max_attempts=1))

    result = await asyncio.to_thread(
        client.generate_many, [f"fox {i}" for i in range(6)], seed=1, concurrency=control, **SMALL
    )

    assert len(result.generations) == 6
    assert emulator.accepted == 6
    assert emulator.count("POST", SUBMIT_PATH, status=429) >= 1
    assert control.cuts >= 1
    assert control.limit < 6


async def test_async_batch_sees_429s_the_client_retries(
    emulator: Emulator, async_client: AsyncKleinClient
) -> None:
    emulator.script("submit", 429, 429)
    control = Concurrency(maximum=4, start=4, cooldown=0)

    result = await async_client.generate_many(
        [f"heron {i}" for i in range(4)], seed=1, concurrency=control, **SMALL
    )

    assert len(result.generations) == 4
    assert control.cuts == 2  # both 429s were seen, though the client retried them itself
    assert emulator.accepted == 4


async def test_batch_adapts_to_the_accounts_concurrency(
    klein: KleinClient | AsyncKleinClient, emulator: Emulator
) -> None:
    # Long enough that the queue outlasts a busy machine's first polls (at 0.05 s, six
    # tasks could all finish before a loaded client ever saw one of them queued; 0.25 s was
    # not enough with the suite in 4 processes on 2 cores).
    emulator.configure(concurrency=1, inference_time=0.6)
    control = Concurrency(maximum=6, start=6)

    result = await batch(klein, [f"owl {i}" for i in range(6)], concurrency=control, **SMALL)

    assert len(result.generations) == 6
    assert control.peak == 6  # it started wide...
    assert control.limit <= 3  # ...and narrowed once WaveSpeed queued our tasks


def test_aimd_controller() -> None:
    now = [0.0]
    c = Concurrency(maximum=4, start=2, cooldown=1.0, clock=lambda: now[0])
    assert c.limit == 2
    for job in range(10):  # additive increase, bounded by the maximum
        c.started(job)
        c.succeeded(job)
    assert c.limit == 4
    c.rate_limited()
    c.rate_limited()  # the same burst: one cut
    assert (c.limit, c.cuts) == (2, 1)
    now[0] = 2.0
    c.rate_limited()
    c.rate_limited()
    now[0] = 4.0
    c.rate_limited()
    assert (c.limit, c.cuts) == (1, 3)  # never below one
    for job in range(3):
        c.started(job)
    c.stage(0, "processing")
    c.stage(1, "queued")
    c.stage(2, "queued")
    c.succeeded(0)  # no growth while WaveSpeed holds our tasks back
    assert c.limit == 1
    with pytest.raises(InvalidRequestError):
        Concurrency(maximum=True)


async def test_rerun_fetches_what_an_earlier_run_paid_for(
    klein: KleinClient | AsyncKleinClient, make_sync: Any, emulator: Emulator, isolated: Path
) -> None:
    # A kernel died mid-batch: one task was accepted (and billed), its image never came.
    paid = make_sync().submit(PROMPTS[0], seed=6, **SMALL)

    result = await batch(klein, PROMPTS[:2], seed=6, confirm_over=0.008, **SMALL)

    assert [item.resumed for item in result] == [True, False]
    assert result[0].generation is not None
    assert result[0].generation.task_id == paid.id
    assert result[0].generation.path is not None
    assert repr(result) == "BatchResult(2 items: 1 generated, 1 fetched from an earlier run)"
    assert emulator.count("POST", SUBMIT_PATH) == 2  # the paid one was not submitted again
    assert Gallery(isolated).pending() == []


async def test_a_paid_task_that_failed_is_made_afresh(
    klein: KleinClient | AsyncKleinClient, make_sync: Any, emulator: Emulator, isolated: Path
) -> None:
    emulator.script("task", "fail")
    doomed = make_sync().submit(PROMPTS[0], seed=6, **SMALL)

    result = await batch(klein, PROMPTS[:1], seed=6, **SMALL)

    assert result[0].generation is not None
    assert result[0].generation.task_id != doomed.id
    assert not result[0].resumed
    assert Gallery(isolated).entry(doomed.id).status == "failed"  # type: ignore[union-attr]
    assert emulator.count("POST", SUBMIT_PATH) == 2
