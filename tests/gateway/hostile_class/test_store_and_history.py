"""The image store is checked before a charge and before a forward; the emulator lists the
account's predictions by time window, as the gateway's settling reads them."""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from klein_widget.emulator import start as start_emulator
from klein_widget.gateway._dispatch import STORE_REFUSED
from tests.gateway import loopback

from .conftest import HostileClass

KEY = {"Authorization": "Bearer wsk-history"}


def _break(klass: HostileClass) -> None:
    """Put a file where the store's folder is: nothing can be written there."""
    folder = klass.running.gateway.gallery.path
    shutil.rmtree(folder, ignore_errors=True)
    folder.write_text("not a folder")
    klass.running.gateway.store._checked = -math.inf  # check again now, not in 2 s


def test_a_broken_store_refuses_new_work_before_charging(
    hostile: Callable[..., HostileClass],
) -> None:
    klass = hostile()
    token = klass.running.gateway.db.add_student("ada", 100)
    _break(klass)
    answer = klass.submit(token)
    assert answer.status_code == 503
    assert "image store" in answer.json()["message"]
    assert "nothing charged" in answer.json()["message"]
    assert klass.running.gateway.db.student("ada").spent_mills == 0  # type: ignore[union-attr]
    assert klass.emulator.accepted == 0


def test_a_store_broken_after_the_charge_refunds_before_forwarding(
    hostile: Callable[..., HostileClass],
) -> None:
    klass = hostile()
    token = klass.running.gateway.db.add_student("ada", 100)
    dispatcher = klass.running.gateway.dispatcher
    dispatcher._paused_until = time.monotonic() + 1.0  # queued, not yet forwarded
    task_id = klass.submit(token).json()["data"]["id"]
    _break(klass)
    data = klass.settled(token, task_id)
    assert data["status"] == "failed"
    assert data["error"].startswith(STORE_REFUSED.split("(")[0])
    assert data["gateway"]["charge"] == "refunded"
    assert klass.emulator.accepted == 0


def test_the_emulator_lists_predictions_by_time_window() -> None:
    with start_emulator(inference_time=0.01, api_key="wsk-history") as emulator:
        url = emulator.base_url
        submit = url + "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
        for seed in range(3):
            body = {"prompt": "a fox", "size": "320*256", "seed": seed}
            assert loopback.post(submit, json=body, headers=KEY).status_code == 200
        now = datetime.now(timezone.utc)
        window = {"created_after": (now - timedelta(minutes=1)).isoformat(),
                  "created_before": (now + timedelta(minutes=1)).isoformat()}  # fmt: skip
        page = loopback.post(url + "/api/v3/predictions", json={**window, "page_size": 2},
                             headers=KEY).json()["data"]  # fmt: skip
        assert page["total"] == 3
        assert len(page["items"]) == 2
        assert page["items"][0]["input"] == {"prompt": "a fox", "size": "320*256", "seed": 2}
        more = {**window, "page": 2, "page_size": 2}
        rest = loopback.post(url + "/api/v3/predictions", json=more, headers=KEY).json()["data"]
        assert [i["input"]["seed"] for i in rest["items"]] == [0]
        later = {"created_after": (now + timedelta(minutes=1)).isoformat()}
        none = loopback.post(url + "/api/v3/predictions", json=later, headers=KEY).json()["data"]
        assert none["items"] == []
        assert loopback.post(url + "/api/v3/predictions", json={}).status_code == 401
        bad = loopback.post(
            url + "/api/v3/predictions", json={"created_after": "soon"}, headers=KEY
        )
        assert bad.status_code == 400


# The store warns, as it should, each time it cannot keep the image (from the gateway's
# own thread, so at any point of the test); the test checks what the student sees.
@pytest.mark.filterwarnings("ignore:klein-widget could not save the image:RuntimeWarning")
def test_an_image_the_store_could_not_keep_is_fetched_again_once_it_can(
    hostile: Callable[..., HostileClass],
) -> None:
    klass = hostile()
    token = klass.running.gateway.db.add_student("ada", 100)
    klass.flaky.hang = 1.0
    klass.flaky.script("GET /api/v3/predictions/*", "slow")  # time to break the store
    task_id = klass.submit(token).json()["data"]["id"]
    db = klass.running.gateway.db
    deadline = time.monotonic() + 10
    while (task := db.task(task_id)) is not None and task.status != "submitted":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    _break(klass)  # the image is paid upstream; the store cannot take it now
    time.sleep(1.5)  # bounded: the fetch ends and fails to save meanwhile
    assert klass.result(token, task_id)["status"] == "processing"  # not "completed" + 404
    folder = klass.running.gateway.gallery.path
    folder.unlink()
    folder.mkdir(exist_ok=True)  # the gateway's own retry may make it first: either will do
    data = klass.settled(token, task_id)
    assert data["status"] == "completed"
    assert loopback.get(data["outputs"][0]).content.startswith(b"\x89PNG")
    klass.invariants()
