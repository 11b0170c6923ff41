"""The teacher's key never leaves the gateway: not in any answer, page, log, error or file,
even when the upstream echoes it back (a canary key, searched for everywhere)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from klein_widget.emulator import create_app as create_emulator
from klein_widget.gateway import start

from .conftest import ENHANCE, SUBMIT, bearer, body, wait_result

CANARY = "wsk-CANARY-7d1f0c9e4b2a88e1"


def echoing_upstream() -> Starlette:
    """An upstream that quotes the Authorization header it got in every error it sends."""

    async def submit(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        if "refuse" in (await request.body()).decode():
            return JSONResponse({"code": 400, "message": f"bad request from {header}"}, 400)
        data = {"id": "up-1", "status": "created", "urls": {}, "outputs": []}
        return JSONResponse({"code": 200, "message": "success", "data": data})

    async def result(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        data = {"id": "up-1", "status": "failed", "error": f"task failed for {header}"}
        return JSONResponse({"code": 200, "message": "success", "data": data})

    return Starlette(
        routes=[
            Route("/api/v3/predictions/{task_id}/result", result),
            Route("/api/v3/{model:path}", submit, methods=["POST"]),
        ]
    )


def test_a_canary_key_appears_nowhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[bytes] = []
    upstream = create_emulator(inference_time=0.02, api_key=CANARY)  # refuses any other key
    with start(tmp_path / "class.sqlite3", upstream=upstream, api_key=CANARY) as gw:
        ada = gw.gateway.db.add_student("ada", 2000)
        base, auth = gw.base_url, bearer(ada)
        with httpx.Client(base_url=base, headers=auth) as http:
            task_id = http.post(SUBMIT, json=body()).json()["data"]["id"]
            data = wait_result(base, ada, task_id)
            assert data["status"] == "completed"  # the key reached upstream, and only there
            seen += [
                http.get(data["urls"]["get"]).content,
                http.get(data["outputs"][0]).content,
                http.post(ENHANCE, json={"text": "a fox", "enable_sync_mode": True}).content,
                http.post(SUBMIT, json={"bad": 1}).content,
                http.get("/").content,
                http.get(
                    f"/dashboard?token={gw.gateway.teacher_token}", follow_redirects=True
                ).content,
                http.get("/dashboard/state.json").content,
            ]
    with start(tmp_path / "echo.sqlite3", upstream=echoing_upstream(), api_key=CANARY) as gw:
        ada = gw.gateway.db.add_student("ada", 2000)
        with httpx.Client(base_url=gw.base_url, headers=bearer(ada)) as http:
            for prompt in ("refuse me", "fail me"):
                task_id = http.post(SUBMIT, json=body(prompt)).json()["data"]["id"]
                data = wait_result(gw.base_url, ada, task_id)
                assert data["status"] == "failed"
                assert "[redacted]" in data["error"]  # the upstream's echo, taken out
                seen.append(http.get(data["urls"]["get"]).content)
            seen.append(http.get(f"/dashboard?token={gw.gateway.teacher_token}",
                                 follow_redirects=True).content)  # fmt: skip
    out, err = capfd.readouterr()
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) > 10_000  # the images and databases were read
    for where, text in {
        "answers": b"\n".join(seen),
        "logs": caplog.text.encode(),
        "stdout/stderr": (out + err).encode(),
        "files": files,
    }.items():
        assert CANARY.encode() not in text, where
