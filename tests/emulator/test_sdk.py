"""WaveSpeed's official Python SDK (``wavespeed`` 2.0.5), unchanged, against the emulator."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
import wavespeed

from klein_widget.client._models import MODEL_ID
from klein_widget.emulator import RunningEmulator, start

from .conftest import SUBMIT

INPUT = {"prompt": "a lighthouse on a rocky coast at sunset", "size": "512*384", "seed": 1234}


def sdk(live: RunningEmulator, key: str = "any-key") -> wavespeed.Client:
    return wavespeed.Client(api_key=key, base_url=live.base_url, retry_interval=0.01)


def run(client: wavespeed.Client, extra: dict[str, Any] | None = None, **kw: Any) -> Any:
    return client.run(MODEL_ID, {**INPUT, **(extra or {})}, poll_interval=0.01, **kw)


def test_polling_sync_and_base64_give_the_same_image(live: RunningEmulator) -> None:
    client = sdk(live)
    polled = run(client)["outputs"][0]
    synced = run(client, enable_sync_mode=True)["outputs"][0]
    inline = run(client, {"enable_base64_output": True}, enable_sync_mode=True)["outputs"][0]
    assert polled.startswith(live.base_url)
    assert synced.startswith(live.base_url)
    png = httpx.get(polled).content
    assert png.startswith(b"\x89PNG")
    assert httpx.get(synced).content == png
    assert base64.b64decode(inline) == png
    assert live.emulator.accepted == 3
    assert live.emulator.count("POST", SUBMIT) == 3


def test_sdk_rides_out_result_errors_and_drops(live: RunningEmulator) -> None:
    live.emulator.script("result", 503, "drop", 502, "reset")
    outputs = run(sdk(live))["outputs"]
    assert outputs[0].endswith("/0.png")
    assert live.emulator.count("GET", "/api/v3/predictions/*/result", status=0) == 2
    assert live.emulator.count("GET", "/api/v3/predictions/*/result", status=503) == 1
    assert live.emulator.pending_script() == 0


def test_sdk_never_retries_a_dropped_submit(live: RunningEmulator) -> None:
    live.emulator.script("submit", "drop")
    with pytest.raises(RuntimeError, match="did not return a response"):
        run(sdk(live))
    assert live.emulator.count("POST", SUBMIT) == 1
    assert live.emulator.accepted == 1  # billed: the ambiguity a client must surface


def test_sdk_reports_a_failed_task(live: RunningEmulator) -> None:
    live.emulator.script("task", "fail")
    with pytest.raises(RuntimeError, match="Prediction failed"):
        run(sdk(live))


def test_sdk_sees_a_sync_timeout_body_and_can_resume_by_id(live: RunningEmulator) -> None:
    live.emulator.script("sync", "body")
    client = sdk(live)
    result = client.run_no_throw(MODEL_ID, INPUT, enable_sync_mode=True)
    assert result["status"] == "processing"
    assert "Sync mode timed out" in result["error"]
    task_id = result["task_id"]
    assert task_id in live.emulator.tasks
    for _ in range(500):
        data = client.get_result(task_id)["data"]
        if data["status"] == "completed":
            break
    assert data["status"] == "completed"


def test_sdk_sees_a_gateway_504_on_sync(live: RunningEmulator) -> None:
    live.emulator.script("sync", "gateway")
    with pytest.raises(RuntimeError, match="HTTP 504"):
        run(sdk(live), enable_sync_mode=True)
    assert live.emulator.accepted == 1


def test_sdk_rate_limited_submit() -> None:
    with start(inference_time=0.01, rate_limit=1) as live:
        client = sdk(live)
        run(client)
        with pytest.raises(RuntimeError, match="HTTP 429"):
            run(client)


def test_sdk_with_a_wrong_key_gets_401() -> None:
    with start(inference_time=0.01, api_key="the-right-key") as live:
        with pytest.raises(RuntimeError, match="HTTP 401") as info:
            run(sdk(live, key="a-wrong-key"))
        assert "a-wrong-key" not in str(info.value)
        assert run(sdk(live, key="the-right-key"))["outputs"]


def test_sdk_prompt_optimizer(live: RunningEmulator) -> None:
    out = sdk(live).run("wavespeed-ai/prompt-optimizer", {"text": "a fox"}, enable_sync_mode=True)
    assert out["outputs"][0].startswith("A fox, ")
