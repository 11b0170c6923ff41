"""Students' doors against the gateway over loopback, unchanged: the klein client, the
official ``wavespeed`` SDK, curl and httpx (upstream: the emulator in-process)."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess

import httpx
import pytest
import wavespeed

from klein_widget import InvalidRequestError
from klein_widget.client._models import MODEL_ID
from klein_widget.gateway import RunningGateway
from tests.gateway import loopback

from .conftest import ENHANCE, SUBMIT, bearer, body, student_client, upstream_of, wait_result


def test_the_client_generates_polls_syncs_and_inlines(gateway: RunningGateway, ada: str) -> None:
    with student_client(gateway, ada) as client:
        polled = client.generate("a red fox", width=320, height=256, seed=7)
        synced = client.generate("a red fox", width=320, height=256, seed=8, sync_mode=True)
        inline = client.generate("a red fox", width=320, height=256, seed=9, base64_output=True)
    for gen, seed in ((polled, 7), (synced, 8), (inline, 9)):
        assert gen.image.startswith(b"\x89PNG")
        assert gen.seed == seed
        assert gen.prediction.status == "completed"
    assert upstream_of(gateway).accepted == 3
    ada_now = gateway.gateway.db.student("ada")
    assert ada_now is not None
    assert ada_now.spent_mills == 24


def test_outputs_are_the_gateways_own_urls(gateway: RunningGateway, ada: str) -> None:
    r = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer(ada))
    assert r.status_code == 200
    submitted = r.json()
    assert submitted["code"] == 200
    assert submitted["data"]["status"] == "created"
    task_id = submitted["data"]["id"]
    assert (
        submitted["data"]["urls"]["get"]
        == f"{gateway.base_url}/api/v3/predictions/{task_id}/result"
    )
    data = wait_result(gateway.base_url, ada, task_id)
    url = data["outputs"][0]
    assert url == f"{gateway.base_url}/gateway/images/{task_id}.png"
    png = loopback.get(url).content
    assert png.startswith(b"\x89PNG")
    # The alternative result URL answers the same task.
    alt = loopback.get(f"{gateway.base_url}/api/v3/predictions/{task_id}", headers=bearer(ada))
    assert alt.json()["data"]["outputs"] == [url]
    assert data["gateway"] == {
        "cached": False,
        "cost": 0.008,
        "budget_left_mills": 1992,
        "charge": "charged",
        "model": "4b",
        "price_confirmed": True,
    }


def test_a_seed_anyone_made_is_free_and_marked(gateway: RunningGateway, ada: str, bo: str) -> None:
    with student_client(gateway, ada) as client:
        first = client.generate("a lighthouse", width=320, height=256, seed=5)
    with student_client(gateway, bo) as client:
        second = client.generate("a lighthouse", width=320, height=256, seed=5)
    assert second.image == first.image
    assert upstream_of(gateway).accepted == 1  # the class paid once
    db = gateway.gateway.db
    assert db.student("bo").spent_mills == 0  # type: ignore[union-attr]
    assert db.student("ada").spent_mills == 8  # lesson 04: "you were not charged again"  # type: ignore[union-attr]
    data = loopback.get(
        f"{gateway.base_url}/api/v3/predictions/{second.prediction.id}/result", headers=bearer(bo)
    ).json()["data"]
    assert data["gateway"] == {
        "cached": True,
        "cost": 0.0,
        "budget_left_mills": 2000,
        "charge": "free",
        "model": "4b",
        "price_confirmed": True,
    }


def test_a_random_seed_never_comes_from_the_store(gateway: RunningGateway, ada: str) -> None:
    for _ in range(2):
        r = loopback.post(gateway.base_url + SUBMIT, json=body(seed=-1), headers=bearer(ada))
        wait_result(gateway.base_url, ada, r.json()["data"]["id"])
    assert upstream_of(gateway).accepted == 2


def test_the_official_sdk_works_unchanged(gateway: RunningGateway, ada: str) -> None:
    client = wavespeed.Client(api_key=ada, base_url=gateway.base_url, retry_interval=0.01)
    inputs = {"prompt": "a lighthouse at dusk", "size": "320*256", "seed": 1234}
    polled = client.run(MODEL_ID, inputs, poll_interval=0.01)["outputs"][0]
    inline = client.run(
        MODEL_ID, {**inputs, "seed": 99, "enable_base64_output": True},
        enable_sync_mode=True, poll_interval=0.01,
    )["outputs"][0]  # fmt: skip
    assert polled.startswith(gateway.base_url + "/gateway/images/")
    assert loopback.get(polled).content.startswith(b"\x89PNG")
    assert base64.b64decode(inline).startswith(b"\x89PNG")


def test_curl_and_the_prompt_optimizer(gateway: RunningGateway, ada: str) -> None:
    out = subprocess.run(
        [
            "curl", "-s", "-X", "POST", gateway.base_url + ENHANCE,
            "-H", f"Authorization: Bearer {ada}", "-H", "Content-Type: application/json",
            "-d", json.dumps({"text": "a fox", "enable_sync_mode": True}),
        ],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    answer = json.loads(out.stdout)
    assert answer["code"] == 200
    assert answer["data"]["status"] == "completed"
    assert "fox" in answer["data"]["outputs"][0].lower()
    assert gateway.gateway.db.student("ada").spent_mills == 1  # type: ignore[union-attr]
    with student_client(gateway, ada) as client:
        assert "fox" in client.enhance_prompt("a fox").lower()


def test_the_optimizers_style_reaches_upstream_and_a_bad_one_is_refused(
    gateway: RunningGateway, ada: str
) -> None:
    with student_client(gateway, ada) as client:
        plain = client.enhance_prompt("a robot")
        anime = client.enhance_prompt("a robot", style="anime")
        with pytest.raises(InvalidRequestError, match="style must be one of default, artistic"):
            client.enhance_prompt("a robot", style="cubist")  # refused before it is sent
    assert "anime" in anime
    assert "anime" not in plain
    for wrong, says in (
        ({"style": "cubist"}, "style must be one of"),
        ({"mode": "video"}, "mode must be"),
    ):
        answer = loopback.post(
            gateway.base_url + ENHANCE,
            json={"text": "a fox", "enable_sync_mode": True, **wrong},
            headers=bearer(ada),
        )
        assert answer.status_code == 400
        assert says in answer.json()["message"]
    assert gateway.gateway.db.student("ada").spent_mills == 2  # type: ignore[union-attr]


def test_a_class_running_one_cell_at_once_pays_once(
    gateway: RunningGateway, ada: str, bo: str
) -> None:
    db = gateway.gateway.db
    tokens = [ada, bo, *(db.add_student(f"student{i}", 2000) for i in range(6))]
    upstream_of(gateway).configure(inference_time=0.3)  # all eight ask while it is made

    async def everyone() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
            return await asyncio.gather(
                *(http.post(SUBMIT, json=body(), headers=bearer(t)) for t in tokens)
            )

    answers = asyncio.run(everyone())
    images = set()
    for token, answer in zip(tokens, answers, strict=True):
        data = wait_result(gateway.base_url, token, answer.json()["data"]["id"])
        assert data["status"] == "completed"
        images.add(loopback.get(data["outputs"][0]).content)
    assert len(images) == 1
    assert upstream_of(gateway).accepted == 1
    spent = sorted(s.spent_mills for s in db.students())
    assert spent == [0] * 7 + [8]  # the first paid; the seven others shared it, free


def test_sync_mode_waits_for_a_shared_image(gateway: RunningGateway, ada: str, bo: str) -> None:
    upstream_of(gateway).configure(inference_time=0.3)
    first = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer(ada))
    second = loopback.post(
        gateway.base_url + SUBMIT, json=body(enable_sync_mode=True), headers=bearer(bo),
        timeout=30,
    )  # fmt: skip
    data = second.json()["data"]
    assert data["status"] == "completed"
    assert data["gateway"] == {
        "cached": True,
        "cost": 0.0,
        "budget_left_mills": 2000,
        "charge": "free",
        "model": "4b",
        "price_confirmed": True,
    }
    assert wait_result(gateway.base_url, ada, first.json()["data"]["id"])["status"] == "completed"
