"""Realism knobs with timing semantics: inference time, concurrency queue, rate limit."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from klein_widget.emulator import Emulator, create_app

from .conftest import AUTH, SUBMIT, body, wait_done


def client_for(emu_app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=emu_app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH)


async def test_inference_time_sets_timings_and_can_change_at_run_time() -> None:
    app = create_app(inference_time=0.03)
    emu: Emulator = app.state.emulator
    async with client_for(app) as http:
        first = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
        emu.configure(inference_time=0.01)
        second = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
    assert first["timings"]["inference"] == 30
    assert second["timings"]["inference"] == 10
    task = emu.tasks[first["id"]]
    assert math.isclose(task.finish - task.start, 0.03)


async def test_over_the_concurrency_limit_tasks_wait_in_created() -> None:
    app = create_app(inference_time=0.4, concurrency=1)
    emu: Emulator = app.state.emulator
    async with client_for(app) as http:
        a = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
        b = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
        status_a = (await http.get(f"/api/v3/predictions/{a}/result")).json()["data"]["status"]
        status_b = (await http.get(f"/api/v3/predictions/{b}/result")).json()["data"]["status"]
        done = [await wait_done(http, a), await wait_done(http, b)]
    assert (status_a, status_b) == ("processing", "created")
    assert [d["status"] for d in done] == ["completed", "completed"]
    # b started only when a's slot freed: FIFO, one at a time.
    assert emu.tasks[b].start == pytest.approx(emu.tasks[a].finish)


async def test_concurrency_two_runs_two_at_once() -> None:
    app = create_app(inference_time=5.0, concurrency=2)
    emu: Emulator = app.state.emulator
    async with client_for(app) as http:
        ids = [(await http.post(SUBMIT, json=body())).json()["data"]["id"] for _ in range(5)]
        statuses = [
            (await http.get(f"/api/v3/predictions/{i}/result")).json()["data"]["status"]
            for i in ids
        ]
    assert statuses == ["processing", "processing", "created", "created", "created"]
    starts = [emu.tasks[i].start - emu.tasks[ids[0]].start for i in ids]
    assert starts == pytest.approx([0, 0, 5, 5, 10], abs=0.05)


async def test_queue_time_shows_created_before_processing() -> None:
    app = create_app(inference_time=0.01, queue_time=5.0)
    async with client_for(app) as http:
        task_id = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
        status = (await http.get(f"/api/v3/predictions/{task_id}")).json()["data"]["status"]
    assert status == "created"


async def test_rate_limit_answers_429_with_retry_after_then_resets() -> None:
    app = create_app(inference_time=0.01, rate_limit=2, rate_window=0.3)
    emu: Emulator = app.state.emulator
    async with client_for(app) as http:
        answers = [await http.post(SUBMIT, json=body()) for _ in range(3)]
        await asyncio.sleep(0.35)
        after = await http.post(SUBMIT, json=body())
    assert [r.status_code for r in answers] == [200, 200, 429]
    limited = answers[2]
    assert limited.json()["code"] == 429
    assert "2 images per 0.3 s" in limited.json()["message"]
    assert int(limited.headers["Retry-After"]) >= 1
    assert after.status_code == 200
    assert emu.accepted == 3


async def test_rate_limit_per_minute_retry_after_counts_down() -> None:
    app = create_app(inference_time=0.01, rate_limit=1)
    async with client_for(app) as http:
        await http.post(SUBMIT, json=body())
        limited = await http.post(SUBMIT, json=body())
        optimizer = await http.post(
            "/api/v3/wavespeed-ai/prompt-optimizer", json={"text": "fox", "enable_sync_mode": True}
        )
    assert limited.status_code == 429
    assert 55 <= int(limited.headers["Retry-After"]) <= 60
    assert optimizer.status_code == 200  # the limit is on images


@pytest.mark.parametrize(
    "knobs",
    [
        {"inference_time": -1},
        {"concurrency": 0},
        {"rate_limit": 0},
        {"sync_timeout": "3"},
        {"faults": 0.5},
        {"speed": 2},
    ],
)
def test_configure_validates(knobs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|unknown"):
        Emulator().configure(**knobs)
