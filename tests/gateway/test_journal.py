"""A restart loses nothing: queued tasks are sent, accepted ones are fetched without paying
again, and one that may have reached upstream is never sent twice."""

from __future__ import annotations

import time
from pathlib import Path

from klein_widget.client._models import GenerationRequest
from klein_widget.emulator import start as start_emulator
from klein_widget.gateway import ClassDB, RunningGateway, start
from klein_widget.gateway._aftercare import REFUNDED
from tests.gateway import loopback

from .conftest import SUBMIT, bearer, body, wait_result

TEACHER_KEY = "wsk-teacher-restart-0123456789"


def _statuses(running: RunningGateway, ids: list[str]) -> set[str | None]:
    tasks = [running.gateway.db.task(i) for i in ids]
    return {task.status if task else None for task in tasks}


def test_a_restart_resumes_from_the_journal_without_paying_again(tmp_path: Path) -> None:
    db_path = tmp_path / "class.sqlite3"
    with start_emulator(inference_time=1.0, api_key=TEACHER_KEY) as upstream:
        options = {"upstream": upstream.base_url, "api_key": TEACHER_KEY, "settle_after": 0.2}
        first = start(db_path, **options)
        token = first.gateway.db.add_student("ada", 2000)
        ids = [
            loopback.post(first.base_url + SUBMIT, json=body(seed=s), headers=bearer(token)).json()[
                "data"
            ]["id"]
            for s in (1, 2, 3)
        ]
        deadline = time.monotonic() + 10
        # All three accepted upstream (none finished), and the gateway has recorded that: the
        # emulator counts a submit before its answer reaches the gateway, and a stop in
        # between leaves that task "forwarding" (seen under load).
        while upstream.emulator.accepted < 3 or _statuses(first, ids) != {"submitted"}:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        first.stop()
        db = ClassDB(db_path)
        assert {db.task(i).status for i in ids} == {"submitted"}  # type: ignore[union-attr]
        # A crash right after a submit left: no upstream id known, and one still queued.
        lost = db.open_task("ada", "image", GenerationRequest("a lost fox", 320, 256, 7), 8)
        queued = db.open_task("ada", "image", GenerationRequest("a queued fox", 320, 256, 8), 8)
        assert lost is not None
        assert queued is not None
        db.update(lost.id, status="forwarding")
        db.close()

        with start(db_path, **options) as second:
            for task_id in [*ids, queued.id]:
                data = wait_result(second.base_url, token, task_id)
                assert data["status"] == "completed"
                assert loopback.get(data["outputs"][0]).content.startswith(b"\x89PNG")
            gone = wait_result(second.base_url, token, lost.id)
            assert gone["status"] == "failed"
            assert gone["error"] == REFUNDED  # upstream's record has no such submit
            assert gone["gateway"]["charge"] == "refunded"
            assert upstream.emulator.accepted == 4  # 3 before, the queued one after; no re-send
            # Charged for the four made; the lost one was settled against upstream's record.
            assert second.gateway.db.student("ada").spent_mills == 32  # type: ignore[union-attr]
