"""Budgets hold exactly: refused before forwarding, and never overspent under concurrency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from klein_widget.client._exceptions import BudgetExceededError
from klein_widget.emulator import create_app as create_emulator
from klein_widget.gateway import RunningGateway, start
from klein_widget.gateway._dispatch import KEY_REFUSED
from tests.gateway import loopback

from .conftest import SUBMIT, bearer, body, student_client, upstream_of, wait_result


def test_a_submit_past_the_budget_is_refused_before_forwarding(gateway: RunningGateway) -> None:
    token = gateway.gateway.db.add_student("ada", 20)  # $0.02: two images and $0.004
    with student_client(gateway, token) as client:
        client.generate("a fox", width=320, height=256, seed=1)
        client.generate("a fox", width=320, height=256, seed=2)
        try:
            client.generate("a fox", width=320, height=256, seed=3)
        except BudgetExceededError as error:  # the gateway's 402: a budget error (exit 4)
            refused = error
        else:
            raise AssertionError("the third image was not refused")
    assert refused.message.startswith("The class gateway refused this request")
    assert "Your class budget of $0.02 is used up ($0.004 left; an image costs $0.008)" in (
        refused.message
    )
    assert "ask your teacher" in refused.message
    assert not refused.maybe_accepted  # the client knows nothing was sent on
    assert upstream_of(gateway).accepted == 2
    assert gateway.gateway.db.student("ada").spent_mills == 16  # type: ignore[union-attr]


def test_twenty_concurrent_submits_at_the_edge_never_overspend(gateway: RunningGateway) -> None:
    token = gateway.gateway.db.add_student("ada", 44)  # five images ($0.040) and $0.004

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=gateway.base_url, headers=bearer(token)) as http:
            return await asyncio.gather(
                *(http.post(SUBMIT, json=body(seed=100 + i)) for i in range(20))
            )

    answers = asyncio.run(storm())
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 5 + [402] * 15
    for r in answers:
        if r.status_code == 200:
            assert (
                wait_result(gateway.base_url, token, r.json()["data"]["id"])["status"]
                == "completed"
            )
    assert upstream_of(gateway).accepted == 5
    assert gateway.gateway.db.student("ada").spent_mills == 40  # type: ignore[union-attr]


def test_a_raised_budget_works_at_once(gateway: RunningGateway) -> None:
    token = gateway.gateway.db.add_student("ada", 0)
    r = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer(token))
    assert r.status_code == 402
    assert "$0.00" in r.json()["message"]
    gateway.gateway.db.set_budget("ada", 8)
    r = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer(token))
    assert r.status_code == 200


def test_a_refused_forward_is_refunded_and_a_dropped_one_is_never_resent(
    gateway: RunningGateway,
) -> None:
    token = gateway.gateway.db.add_student("ada", 2000)
    gateway.gateway.dispatcher.care.settle_after = 0.1
    emulator = upstream_of(gateway)
    emulator.script("submit", 400, "drop")  # refused outright; then accepted, answer lost
    refused = loopback.post(gateway.base_url + SUBMIT, json=body(seed=1), headers=bearer(token))
    data = wait_result(gateway.base_url, token, refused.json()["data"]["id"])
    assert data["status"] == "failed"
    assert "400" in data["error"]
    assert data["gateway"]["cost"] == 0.0  # refunded: it never reached WaveSpeed's queue
    dropped = loopback.post(gateway.base_url + SUBMIT, json=body(seed=2), headers=bearer(token))
    data = wait_result(gateway.base_url, token, dropped.json()["data"]["id"])
    # Upstream's record of predictions shows it was made: fetched, not sent again.
    assert data["status"] == "completed"
    assert data["gateway"]["charge"] == "charged"
    assert loopback.get(data["outputs"][0]).content.startswith(b"\x89PNG")
    assert emulator.count("POST", SUBMIT) == 2  # one each: the dropped one was not re-sent
    assert emulator.accepted == 1
    assert gateway.gateway.db.student("ada").spent_mills == 8  # type: ignore[union-attr]


def test_a_refused_teacher_key_is_explained_and_not_charged(tmp_path: Path) -> None:
    upstream = create_emulator(inference_time=0.02, api_key="wsk-the-right-key-000")
    with start(tmp_path / "class.sqlite3", upstream=upstream, api_key="wsk-a-wrong-key-111") as gw:
        token = gw.gateway.db.add_student("ada", 2000)
        r = loopback.post(gw.base_url + SUBMIT, json=body(), headers=bearer(token))
        data = wait_result(gw.base_url, token, r.json()["data"]["id"])
        assert data["status"] == "failed"
        assert data["error"] == KEY_REFUSED
        assert gw.gateway.db.student("ada").spent_mills == 0  # type: ignore[union-attr]
