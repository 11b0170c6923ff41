"""Stopping the gateway waits for the settling of tasks that just ended.

When a task's work ends, the dispatcher settles it (`Dispatcher.finished`: its followers,
its waiters) shielded from cancellation, so a gateway stopped at that moment still settles
it. Before the fix `stop` did not wait for that shielded work: the gateway then closed its
database thread under it, and the settling failed ("cannot schedule new futures after
shutdown", logged as a task exception never retrieved). A database slowed a little (as on
a network disk) keeps the settling in flight when the student's last poll returns.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bench.stall import SlowDB
from klein_widget.gateway import Gateway, create_app
from klein_widget.gateway._state import images_folder
from klein_widget.gateway._upstream import Upstream
from klein_widget.store._gallery import Gallery
from tests.conftest import FAST_RETRY
from tests.gateway.conftest import FAST, SUBMIT, bearer

SLOW = 0.02  # seconds per database call


def record_tasks() -> list[asyncio.Task[Any]]:
    """Every task the running loop creates from now on (`all_tasks` forgets ended ones)."""
    created: list[asyncio.Task[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Task[Any]:
        task = asyncio.Task(coro, loop=loop, **options)
        created.append(task)
        return task

    asyncio.get_running_loop().set_task_factory(factory)
    return created


def dispatchers_work(tasks: list[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """The dispatcher's tasks among ``tasks`` still running, or ended by an error."""
    left = []
    for task in tasks:
        if not getattr(task.get_coro(), "__qualname__", "").startswith("Dispatcher."):
            continue
        if not task.done() or (not task.cancelled() and task.exception() is not None):
            left.append(task)
    return left


async def _images_then_stop(tmp_path: Path) -> list[asyncio.Task[Any]]:
    tasks = record_tasks()
    db_path = tmp_path / "class.sqlite3"
    gallery = Gallery(images_folder(db_path))
    upstream = Upstream.connect(
        "emulator", gallery=gallery, api_key=None, retry=FAST_RETRY, emulator_inference_time=FAST
    )
    db = SlowDB(db_path, SLOW)
    tokens = [db.add_student(f"s{i}", 1000) for i in range(2)]
    gateway = Gateway(db, gallery, upstream)
    transport = httpx.ASGITransport(app=create_app(gateway=gateway))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=60) as http:

        async def image(token: str, seed: int) -> None:
            ask = {"prompt": "a fox", "size": "256*256", "seed": seed}
            task_id = (await http.post(SUBMIT, headers=bearer(token), json=ask)).json()["data"]
            for _ in range(500):  # bounded
                answer = await http.get(
                    f"/api/v3/predictions/{task_id['id']}/result", headers=bearer(token)
                )
                if answer.json()["data"]["status"] in ("completed", "failed"):
                    assert answer.json()["data"]["status"] == "completed"
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("never finished")

        gateway.ensure_started()
        await asyncio.gather(*(image(t, i) for i, t in enumerate(tokens)))
        await gateway.aclose()  # at once: the last settling may still be in flight
        return dispatchers_work(tasks)


def test_stopping_the_gateway_waits_for_the_settling_of_ended_tasks(tmp_path: Path) -> None:
    left = asyncio.run(_images_then_stop(tmp_path))
    assert left == [], f"still running or failed after the gateway stopped: {left}"
