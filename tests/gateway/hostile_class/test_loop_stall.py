"""No database work on the event loop: with every SQLite call made slow on purpose (as on
a network disk, or while another writer holds the lock), a class submitting and polling
while the teacher's dashboard refreshes never makes a database call on the gateway's loop,
so it never stalls it. The test counts calls made on a thread that runs an event loop (a
fact, whatever the machine's load); a loop-lag probe shows the loop kept running. The
probe's lateness is not asserted: with four test processes on two cores it reached 117 ms
with no call on the loop (tests assert no wall-clock times; see STYLE.md)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from bench.stall import SlowDB
from klein_widget.emulator import start as start_emulator
from klein_widget.gateway import Gateway, create_app
from klein_widget.gateway._auth import TEACHER_COOKIE
from klein_widget.gateway._state import images_folder
from klein_widget.gateway._upstream import Upstream
from klein_widget.store._gallery import Gallery
from tests.conftest import FAST_RETRY
from tests.gateway.conftest import FAST, SUBMIT, bearer

# Seconds per database call: far above a loopback request's time, as on a network disk.
# The count of calls made on the loop is what is asserted, not a stall, so this need not
# exceed a stall bound (it was 0.12 s when one was asserted: the test took 13 s, 5 s now).
SLOW = 0.04


async def _probe(worst: list[float], stop: asyncio.Event) -> None:
    """Sleep 5 ms at a time and record the longest overshoot: the loop's worst stall."""
    while not stop.is_set():
        began = time.perf_counter()
        await asyncio.sleep(0.005)
        worst[0] = max(worst[0], time.perf_counter() - began - 0.005)


async def _class(tmp_path: Path, upstream_url: str) -> tuple[SlowDB, float]:
    db_path = tmp_path / "class.sqlite3"
    gallery = Gallery(images_folder(db_path))
    # Upstream over loopback, in its own thread: only the gateway's work is on this loop.
    upstream = Upstream.connect(upstream_url, gallery=gallery, api_key=None, retry=FAST_RETRY)
    db = SlowDB(db_path, SLOW)  # counts the calls made on a thread running a loop
    tokens = [db.add_student(f"s{i}", 1000) for i in range(3)]
    gateway = Gateway(db, gallery, upstream)
    app = create_app(gateway=gateway)
    transport = httpx.ASGITransport(app=app)
    worst, stop = [0.0], asyncio.Event()
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", timeout=60) as http:

        async def student(token: str, seed: int) -> None:
            ask = {"prompt": "a fox", "size": "320*256", "seed": seed}
            answer = await http.post(SUBMIT, headers=bearer(token), json=ask)
            task_id = answer.json()["data"]["id"]
            for _ in range(200):  # bounded
                data = (await http.get(f"/api/v3/predictions/{task_id}/result",
                                       headers=bearer(token))).json()["data"]  # fmt: skip
                if data["status"] in ("completed", "failed"):
                    assert data["status"] == "completed"
                    return
                await asyncio.sleep(0.2)
            raise AssertionError("never finished")

        async def teacher() -> None:
            cookie = {"Cookie": f"{TEACHER_COOKIE}={gateway.teacher_token}"}
            for page in ("/dashboard", "/dashboard/state.json", "/dashboard/students/1"):
                answer = await http.get(page, headers=cookie)
                assert answer.status_code == 200, (page, answer.status_code)

        db.calls = db.on_the_loop = 0  # set-up (students, the gateway made) is done: serving starts
        gateway.ensure_started()
        await student(tokens[0], 99)  # a first image loads what loads once (codecs, ...)
        await teacher()  # and a first page its templates
        probe = asyncio.get_running_loop().create_task(_probe(worst, stop))
        await asyncio.wait_for(
            asyncio.gather(*(student(t, i) for i, t in enumerate(tokens)), teacher()),
            timeout=120,
        )
        stop.set()
        await probe
        await gateway.aclose()
    return db, worst[0]


def test_a_slow_database_never_stalls_the_gateways_loop(tmp_path: Path) -> None:
    with start_emulator(inference_time=FAST) as upstream:
        db, worst = asyncio.run(_class(tmp_path, upstream.base_url))
    assert db.calls > 20, db.calls  # the class's work went through the slow database
    assert db.on_the_loop == 0, f"{db.on_the_loop} database calls ran on the event loop"
    print(f"the loop's worst lateness: {worst * 1000:.0f} ms")
