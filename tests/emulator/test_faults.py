"""Fault injection: scripts (exact) and seeded rates (reproducible), in-process and loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from klein_widget.emulator import Emulator, Faults, RunningEmulator, create_app

from .conftest import AUTH, FAST, SUBMIT, body, wait_done


async def test_scripted_result_errors_then_recovery(http: httpx.AsyncClient, emu: Emulator) -> None:
    task_id = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
    emu.script("result", 503, 429, 502)
    url = f"/api/v3/predictions/{task_id}/result"
    first, second, third = [await http.get(url) for _ in range(3)]
    assert (first.status_code, first.json()["code"]) == (503, 503)
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert third.status_code == 502
    assert third.headers["content-type"].startswith("text/html")  # a gateway page, not JSON
    assert "502 Bad Gateway" in third.text
    assert (await wait_done(http, task_id))["status"] == "completed"
    assert emu.pending_script() == 0


async def test_scripted_submit_errors_are_not_accepted(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    emu.script("submit", 429, 500)
    limited = await http.post(SUBMIT, json=body())
    broken = await http.post(SUBMIT, json=body())
    fine = await http.post(SUBMIT, json=body())
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
    assert broken.status_code == 500
    assert broken.json()["code"] == 500
    assert fine.status_code == 200
    assert emu.accepted == 1


async def test_scripted_failed_task_answers_200_with_a_reason(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    emu.script("task", "fail")
    r = await http.post(SUBMIT, json=body())
    data = await wait_done(http, r.json()["data"]["id"])
    assert data["status"] == "failed"
    assert data["error"]
    assert data["outputs"] == []
    again = await http.get(f"/api/v3/predictions/{data['id']}/result")
    assert (again.status_code, again.json()["code"]) == (200, 200)
    image = await http.get(f"/emulator/images/{data['id']}/0.png")
    assert image.status_code == 404
    # Only the next task fails.
    nxt = await http.post(SUBMIT, json=body())
    assert (await wait_done(http, nxt.json()["data"]["id"]))["status"] == "completed"


async def test_scripted_nsfw_flag(http: httpx.AsyncClient, emu: Emulator) -> None:
    emu.script("task", "nsfw", "ok")
    flagged = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
    clean = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
    assert flagged["has_nsfw_contents"] == [True]
    assert flagged["status"] == "completed"
    assert clean["has_nsfw_contents"] == [False]


async def test_sync_gateway_timeout_is_html_504_and_the_task_goes_on(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    emu.script("sync", "gateway")
    r = await http.post(SUBMIT, json=body(enable_sync_mode=True))
    assert r.status_code == 504
    assert r.headers["content-type"].startswith("text/html")
    assert "504" in r.text
    assert emu.accepted == 1  # billed although the client got no id
    (task,) = emu.tasks.values()
    assert (await wait_done(http, task.id))["status"] == "completed"


async def test_sync_body_timeout_carries_the_id_and_can_be_polled(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    emu.script("sync", "body")
    r = await http.post(SUBMIT, json=body(enable_sync_mode=True))
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["status"] == "processing"
    assert data["code"] == 5004
    assert data["error"].startswith("Sync mode timed out")
    assert data["outputs"] == []
    assert (await wait_done(http, data["id"]))["status"] == "completed"


async def test_sync_timeout_window_uses_the_configured_style() -> None:
    app = create_app(
        inference_time=0.5, sync_timeout=0.05, faults=Faults(sync_timeout_style="body")
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        timed_out = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
        app.state.emulator.sync_timeout = None  # knobs change between requests
        waited = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
    assert (timed_out["status"], timed_out["code"]) == ("processing", 5004)
    assert waited["status"] == "completed"


async def test_in_process_drop_raises_what_httpx_raises_over_a_socket(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    emu.script("result", "drop", "reset")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get("/api/v3/predictions/any/result")
    with pytest.raises(httpx.ReadError):
        await http.get("/api/v3/predictions/any/result")
    assert emu.count("GET", status=0) == 2


def test_drops_over_loopback_close_without_an_answer(live: RunningEmulator) -> None:
    emu = live.emulator
    emu.script("result", "drop", "reset")
    emu.script("image", "drop")
    with httpx.Client(base_url=live.base_url, headers=AUTH) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v3/predictions/any/result")
        with pytest.raises(httpx.ReadError):
            client.get("/api/v3/predictions/any/result")
        data = client.post(SUBMIT, json=body(enable_sync_mode=True)).json()["data"]
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(data["outputs"][0])
        assert client.get(data["outputs"][0]).status_code == 200  # next one is fine
    assert emu.count(status=0) == 3
    assert emu.count(status=500) == 0


def test_submit_drop_bills_the_task_but_gives_no_answer(live: RunningEmulator) -> None:
    emu = live.emulator
    emu.script("submit", "drop")
    with (
        httpx.Client(base_url=live.base_url, headers=AUTH) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post(SUBMIT, json=body())
    assert emu.accepted == 1
    assert len(emu.tasks) == 1


async def test_rates_are_reproducible_under_a_seed() -> None:
    async def outcomes(seed: int) -> list[int]:
        faults = Faults(result_error_rate=0.3, drop_rate=0.2, result_error_status=500)
        app = create_app(inference_time=FAST, faults=faults, seed=seed)
        transport = httpx.ASGITransport(app=app)
        statuses = []
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as h:
            for _ in range(40):
                try:
                    statuses.append((await h.get("/api/v3/predictions/x/result")).status_code)
                except httpx.RemoteProtocolError:
                    statuses.append(0)
        return statuses

    first, again, other = await outcomes(1), await outcomes(1), await outcomes(2)
    assert first == again
    assert first != other
    assert {0, 404, 500} <= set(first)


async def test_fail_and_nsfw_rates_do_not_depend_on_polling() -> None:
    async def results(polls: int) -> list[tuple[str, bool]]:
        faults = Faults(fail_rate=0.4, nsfw_rate=0.4)
        app = create_app(inference_time=FAST, faults=faults, seed=3)
        transport = httpx.ASGITransport(app=app)
        out = []
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as h:
            for _ in range(12):
                data = (await h.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
                for _ in range(polls):
                    await h.get(f"/api/v3/predictions/{data['id']}/result")
                out.append((data["status"], bool(data["has_nsfw_contents"][:1] == [True])))
        return out

    few, many = await results(0), await results(3)
    assert few == many
    assert {s for s, _ in few} == {"completed", "failed"}
    assert any(flag for _, flag in few)


async def test_sync_timeout_rate() -> None:
    faults = Faults(sync_timeout_rate=1.0, sync_timeout_style="body")
    app = create_app(inference_time=FAST, faults=faults)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        data = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
        app.state.emulator.faults = Faults()  # whole fault sets can be swapped at run time
        ok = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
    assert data["code"] == 5004
    assert ok["status"] == "completed"


async def test_result_error_rate_and_status(http: httpx.AsyncClient, emu: Emulator) -> None:
    emu.faults.result_error_rate = 1.0
    emu.faults.result_error_status = 500
    assert (await http.get("/api/v3/predictions/x/result")).status_code == 500
    emu.faults.result_error_rate = 0.0
    assert (await http.get("/api/v3/predictions/x/result")).status_code == 404


@pytest.mark.parametrize(
    ("channel", "action"),
    [
        ("result", "fail"),
        ("task", 503),
        ("sync", "drop"),
        ("submit", 200),
        ("nope", "ok"),
        ("result", True),
    ],
)
def test_script_rejects_what_a_channel_cannot_do(channel: str, action: object) -> None:
    with pytest.raises(ValueError, match=r"channel|status"):
        Emulator().script(channel, action)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fail_rate": 1.5},
        {"drop_rate": -0.1},
        {"result_error_status": 200},
        {"sync_timeout_style": "slow"},
        {"drop_rate": 0.6, "result_error_rate": 0.6},
    ],
)
def test_faults_validate(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|exceed"):
        Faults(**kwargs)  # type: ignore[arg-type]


async def test_script_is_consumed_in_order_across_concurrent_requests(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    emu.script("result", 500, 501, 503)
    statuses = sorted(
        r.status_code
        for r in await asyncio.gather(*(http.get("/api/v3/predictions/x") for _ in range(4)))
    )
    assert statuses == [404, 500, 501, 503]
