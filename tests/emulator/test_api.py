"""The emulator's API, in-process: envelope, statuses, modes, validation, auth, bad input."""

from __future__ import annotations

import base64
import io
import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.testclient import TestClient

from klein_widget.client._models import ENHANCER_MODEL_ID, MODEL_ID, Prediction
from klein_widget.emulator import Emulator, create_app

from .conftest import AUTH, ENHANCE, FAST, SUBMIT, body, wait_done

ENVELOPE_KEYS = {"code", "message", "data"}
DATA_KEYS = {
    "id",
    "model",
    "outputs",
    "urls",
    "has_nsfw_contents",
    "status",
    "created_at",
    "error",
    "timings",
    "simulated",  # the emulator's own: its prices bill nothing (WaveSpeed never sends it)
    "price_mills",  # the emulator's own: the model's price it billed (simulated)
}


async def test_submit_answers_created_with_every_field(http: httpx.AsyncClient) -> None:
    r = await http.post(SUBMIT, json=body())
    assert r.status_code == 200
    env = r.json()
    assert set(env) == ENVELOPE_KEYS
    assert (env["code"], env["message"]) == (200, "success")
    data = env["data"]
    assert set(data) == DATA_KEYS
    assert data["model"] == MODEL_ID
    assert data["status"] == "created"
    assert data["outputs"] == []
    assert data["has_nsfw_contents"] == []
    assert data["error"] == ""
    assert data["simulated"] is True
    assert data["urls"]["get"] == f"http://testserver/api/v3/predictions/{data['id']}/result"
    assert datetime.fromisoformat(data["created_at"].replace("Z", "+00:00")).tzinfo is not None
    assert isinstance(data["timings"]["inference"], int)


async def test_status_moves_to_completed_with_an_image_url(http: httpx.AsyncClient) -> None:
    task_id = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
    data = await wait_done(http, task_id)
    assert data["status"] == "completed"
    assert data["timings"]["inference"] == round(FAST * 1000)
    assert data["has_nsfw_contents"] == [False]
    (url,) = data["outputs"]
    assert url == f"http://testserver/emulator/images/{task_id}/0.png"
    image = await http.get(url, headers={"Authorization": ""})  # a CDN URL needs no key
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (320, 256)
    # The same task through the other documented route, parsed by the client's own model.
    same = (await http.get(f"/api/v3/predictions/{task_id}")).json()["data"]
    prediction = Prediction.from_json(same)
    assert (prediction.status, prediction.outputs) == ("completed", (url,))


async def test_status_is_processing_while_the_model_runs() -> None:
    app = create_app(inference_time=5.0)  # long enough that the poll lands mid-run
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        task_id = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
        data = (await http.get(f"/api/v3/predictions/{task_id}/result")).json()["data"]
    assert data["status"] == "processing"
    assert data["outputs"] == []
    assert data["timings"]["inference"] == 0


async def test_sync_mode_blocks_and_carries_outputs(http: httpx.AsyncClient) -> None:
    r = await http.post(SUBMIT, json=body(enable_sync_mode=True))
    data = r.json()["data"]
    assert data["status"] == "completed"
    assert data["outputs"][0].endswith(f"/emulator/images/{data['id']}/0.png")


async def test_base64_output_is_naked_and_equals_the_url_image(http: httpx.AsyncClient) -> None:
    by_url = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
    png = (await http.get(by_url["outputs"][0])).content
    inline = (
        await http.post(SUBMIT, json=body(enable_sync_mode=True, enable_base64_output=True))
    ).json()["data"]
    (b64,) = inline["outputs"]
    assert not b64.startswith("data:")
    assert base64.b64decode(b64, validate=True) == png


async def test_same_inputs_same_bytes_and_seed_minus_one_is_random(
    http: httpx.AsyncClient,
) -> None:
    async def image(**fields: Any) -> bytes:
        data = (await http.post(SUBMIT, json=body(enable_sync_mode=True, **fields))).json()
        return (await http.get(data["data"]["outputs"][0])).content

    assert await image(seed=7) == await image(seed=7)
    assert await image(seed=7) != await image(seed=8)
    assert await image(seed=-1) != await image(seed=-1)


async def test_seed_defaults_to_random_and_size_to_1024(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    data = (await http.post(SUBMIT, json={"prompt": "a fox"})).json()["data"]
    request = emu.tasks[data["id"]].request
    assert request is not None
    assert (request.width, request.height) == (1024, 1024)
    assert request.seed >= 0  # drawn by the server, never -1


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"size": "2048*512"}, ["width", "256", "1536"]),
        ({"size": "512*100"}, ["height", "256", "1536"]),
        ({"size": "big"}, ["size", "1024*768"]),
        ({"size": 512}, ["size"]),
        ({"seed": -2}, ["seed", "-1"]),
        ({"seed": 2**31}, ["seed", "2147483647"]),
        ({"seed": "42"}, ["seed", "whole number"]),
        ({"seed": 4.5}, ["seed"]),
        ({"prompt": ""}, ["prompt"]),
        ({"prompt": 12}, ["prompt"]),
        ({"enable_sync_mode": "yes"}, ["sync_mode"]),
        ({"enable_base64_output": 1}, ["base64_output"]),
    ],
)
async def test_validation_errors_are_400_with_a_message(
    http: httpx.AsyncClient, emu: Emulator, fields: dict[str, Any], words: list[str]
) -> None:
    r = await http.post(SUBMIT, json=body(**fields))
    assert r.status_code == 400
    env = r.json()
    assert env["code"] == 400
    assert env["data"] is None
    for word in words:
        assert word in env["message"]
    assert emu.accepted == 0


async def test_missing_prompt_is_400(http: httpx.AsyncClient) -> None:
    r = await http.post(SUBMIT, json={"size": "512*512"})
    assert r.status_code == 400
    assert "prompt is required" in r.json()["message"]


@pytest.mark.parametrize(
    ("content", "ctype", "status", "fragment"),
    [
        (b'{"prompt": "a fox"', "application/json", 400, "not valid JSON"),
        (b"\xff\xfe not utf-8", "application/json", 400, "not valid JSON"),
        (b"[" * 100_000, "application/json", 400, "not valid JSON"),
        (b'["a fox"]', "application/json", 400, "JSON object"),
        (b"null", "application/json", 400, "JSON object"),
        (b"prompt=a+fox", "application/x-www-form-urlencoded", 415, "application/json"),
        (b'{"prompt": "a fox"}', "text/plain", 415, "application/json"),
        (b'{"prompt": "a fox"}', "", 415, "(none)"),
    ],
)
async def test_bad_bodies_get_a_json_4xx(
    http: httpx.AsyncClient, content: bytes, ctype: str, status: int, fragment: str
) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    r = await http.post(SUBMIT, content=content, headers=headers)
    assert r.status_code == status
    assert r.json()["code"] == status
    assert fragment in r.json()["message"]


async def test_json_with_charset_is_accepted(http: httpx.AsyncClient) -> None:
    r = await http.post(
        SUBMIT,
        content=b'{"prompt": "a fox", "seed": 1}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200


async def test_huge_bodies_are_413() -> None:
    app = create_app(inference_time=FAST, max_body_bytes=4096)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        r = await http.post(SUBMIT, json=body(prompt="fox " * 2000))
        default = create_app()
        big = await httpx.AsyncClient(
            transport=httpx.ASGITransport(app=default), base_url="http://t", headers=AUTH
        ).post(SUBMIT, json=body(prompt="x" * (2 << 20)))
    assert (r.status_code, r.json()["code"]) == (413, 413)
    assert "4096 bytes" in r.json()["message"]
    assert big.status_code == 413
    assert app.state.emulator.accepted == 0


async def test_unknown_task_route_and_model_are_json_404(http: httpx.AsyncClient) -> None:
    for path in ("/api/v3/predictions/nope/result", "/api/v3/predictions/nope", "/nowhere"):
        r = await http.get(path)
        assert r.status_code == 404, path
        assert r.json()["code"] == 404
    r = await http.post("/api/v3/someone/other-model", json={"prompt": "x"})
    assert r.status_code == 404
    assert MODEL_ID in r.json()["message"]
    r = await http.get("/emulator/images/nope/0.png")
    assert r.status_code == 404


async def test_wrong_method_is_json_405(http: httpx.AsyncClient) -> None:
    r = await http.get(SUBMIT)
    assert r.status_code == 405
    assert r.json()["code"] == 405


async def test_image_of_an_unfinished_task_is_404() -> None:
    app = create_app(inference_time=5.0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        task_id = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
        r = await http.get(f"/emulator/images/{task_id}/0.png")
    assert r.status_code == 404
    assert "not completed" in r.json()["message"]


async def test_malformed_authorization_is_always_401(http: httpx.AsyncClient) -> None:
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ):
        r = await http.post(SUBMIT, json=body(), headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["code"] == 401
    task_id = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
    r = await http.get(f"/api/v3/predictions/{task_id}/result", headers={"Authorization": ""})
    assert r.status_code == 401


async def test_no_authorization_is_served_only_without_an_api_key() -> None:
    for api_key, expected in ((None, 200), ("wsk-required", 401)):
        app = create_app(inference_time=FAST, api_key=api_key)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            r = await http.post(SUBMIT, json=body())
        assert r.status_code == expected, api_key
        if expected == 401:
            assert "Missing Authorization header" in r.json()["message"]


async def test_any_key_is_accepted_without_api_key(http: httpx.AsyncClient) -> None:
    r = await http.post(SUBMIT, json=body(), headers={"Authorization": "Bearer whatever"})
    assert r.status_code == 200


async def test_api_key_rejects_other_keys_and_never_echoes_them() -> None:
    app = create_app(inference_time=FAST, api_key="right-key")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        wrong = await http.post(SUBMIT, json=body(), headers={"Authorization": "Bearer wrong-key"})
        right = await http.post(SUBMIT, json=body(), headers={"Authorization": "Bearer right-key"})
    assert wrong.status_code == 401
    assert "wrong-key" not in wrong.text
    assert "right-key" not in wrong.text
    assert right.status_code == 200
    assert app.state.emulator.accepted == 1


async def test_prompt_optimizer_sync_is_free_and_deterministic(
    http: httpx.AsyncClient, emu: Emulator
) -> None:
    async def enhance(text: str, **extra: object) -> dict[str, Any]:
        payload = {"text": text, "enable_sync_mode": True, **extra}
        r = await http.post(ENHANCE, json=payload)
        assert r.status_code == 200
        data: dict[str, Any] = r.json()["data"]
        return data

    first = await enhance("a red fox")
    assert first["model"] == ENHANCER_MODEL_ID
    assert first["status"] == "completed"
    (text,) = first["outputs"]
    assert text.startswith("A red fox, ")
    assert len(text) > len("a red fox") + 40
    assert (await enhance("a red fox"))["outputs"] == [text]
    assert (await enhance("a red fox", style="anime"))["outputs"] != [text]
    assert emu.accepted == 0


async def test_prompt_optimizer_async_then_poll(http: httpx.AsyncClient) -> None:
    data = (await http.post(ENHANCE, json={"text": "a fox"})).json()["data"]
    done = await wait_done(http, data["id"])
    assert done["outputs"][0].startswith("A fox, ")


@pytest.mark.parametrize(
    "payload",
    [{}, {"text": ""}, {"text": 3}, {"text": "x", "mode": "audio"}, {"text": "x", "style": "bad"}],
)
async def test_prompt_optimizer_rejects_bad_input(
    http: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    r = await http.post(ENHANCE, json=payload)
    assert r.status_code == 400
    assert r.json()["message"]


def test_starlette_testclient_works_too(app: Starlette) -> None:
    with TestClient(app, base_url="http://testserver", headers=AUTH) as client:
        data = client.post(SUBMIT, json=body(enable_sync_mode=True)).json()["data"]
        assert data["status"] == "completed"
        png = client.get(data["outputs"][0]).content
    assert png.startswith(b"\x89PNG")


async def test_request_log_and_count(http: httpx.AsyncClient, emu: Emulator) -> None:
    task_id = (await http.post(SUBMIT, json=body())).json()["data"]["id"]
    await wait_done(http, task_id)
    await http.post(SUBMIT, json=body(size="1*1"))
    assert emu.count("POST", SUBMIT) == 2
    assert emu.count("POST", SUBMIT, status=400) == 1
    assert emu.count("GET", "/api/v3/predictions/*/result") >= 1
    assert emu.accepted == 1
    assert re.fullmatch(r"[0-9a-f]{32}", task_id)
    first = emu.requests[0]
    assert (first.method, first.path, first.status) == ("POST", SUBMIT, 200)
    emu.reset()
    assert (emu.requests, emu.accepted, emu.tasks) == ([], 0, {})


async def test_index_describes_the_server(http: httpx.AsyncClient) -> None:
    info = (await http.get("/")).json()
    assert info["name"] == "klein emulator"
    assert MODEL_ID in info["models"]
