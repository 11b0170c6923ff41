"""Hostile students: every bad request gets a 4xx and a message in the envelope, never a
500 or a hang (each request here is held to a short timeout)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from klein_widget.gateway import RunningGateway, start
from klein_widget.gateway._conn import BodyLimit
from tests.gateway import loopback

from .conftest import FAST, SUBMIT, bearer, body, wait_result

TIMEOUT = httpx.Timeout(10.0)


def refused(r: httpx.Response, status: int, says: str) -> None:
    assert r.status_code == status, r.text
    answer = r.json()
    assert answer["code"] == status
    assert says in answer["message"]


@pytest.mark.parametrize(
    ("content", "ctype", "status", "says"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "must be a JSON object"),
        (b'{"size": "512*512"}', "application/json", 400, "prompt is required"),
        (b'{"prompt": "x", "size": "99999*2"}', "application/json", 400, "width"),
        (b'{"prompt": "x", "seed": "seven"}', "application/json", 400, "seed"),
        (b"[" * 100_000, "application/json", 413, "too large"),
        (b'{"prompt": "x"}', "text/plain", 415, "application/json"),
        (b"\xff\xfe\x00garbage", "application/json", 400, "not valid JSON"),
        (b'{"prompt": "x", "seed": Infinity}', "application/json", 400, "seed"),
        (b'{"prompt": NaN}', "application/json", 400, "prompt"),
    ],
)
def test_bad_bodies(
    gateway: RunningGateway, ada: str, content: bytes, ctype: str, status: int, says: str
) -> None:
    headers = {**bearer(ada), "Content-Type": ctype}
    r = loopback.post(gateway.base_url + SUBMIT, content=content, headers=headers, timeout=TIMEOUT)
    refused(r, status, says)


def test_a_huge_body_is_refused_without_reading_it(gateway: RunningGateway, ada: str) -> None:
    headers = {**bearer(ada), "Content-Type": "application/json", "Content-Length": str(1 << 34)}
    host, port = urlsplit(gateway.base_url).hostname, urlsplit(gateway.base_url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + b"{" * 1000)
        answer = b""
        while b"too large" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"too large" in answer


def test_unknown_routes_models_and_methods(gateway: RunningGateway, ada: str) -> None:
    base = gateway.base_url
    refused(loopback.get(base + "/nope", headers=bearer(ada)), 404, "Not Found")
    refused(loopback.post(base + "/api/v3/some/other-model", json=body(), headers=bearer(ada)),
            404, "not found")  # fmt: skip
    refused(loopback.delete(base + SUBMIT, headers=bearer(ada)), 405, "Method Not Allowed")


@pytest.mark.parametrize(
    "path",
    [
        "/gateway/images/../../class.sqlite3",
        "/gateway/images/..%2F..%2Fclass.sqlite3.png",
        "/gateway/images/%2e%2e/%2e%2e/etc/passwd.png",
        "/gateway/images/" + "a" * 32 + ".png",
        "/gateway/images/" + "0" * 31 + "/.png",
        "/api/v3/predictions/..%2F..%2Fetc%2Fpasswd/result",
    ],
)
def test_path_traversal_finds_nothing(gateway: RunningGateway, ada: str, path: str) -> None:
    r = loopback.get(gateway.base_url + path, headers=bearer(ada), timeout=TIMEOUT)
    assert r.status_code in (404, 405)  # 405: a decoded path that reads as a model's
    assert r.json()["message"]
    assert b"CREATE TABLE" not in r.content
    assert b"root:" not in r.content


def test_another_students_prediction_is_refused(gateway: RunningGateway, ada: str, bo: str) -> None:
    task_id = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer(ada)).json()[
        "data"
    ]["id"]
    wait_result(gateway.base_url, ada, task_id)
    r = loopback.get(f"{gateway.base_url}/api/v3/predictions/{task_id}/result", headers=bearer(bo))
    refused(r, 404, "among yours")


def test_a_public_gallery_lets_students_read_each_other(tmp_path: Path) -> None:
    db = tmp_path / "class.sqlite3"
    with start(db, upstream="emulator", emulator_inference_time=FAST, public_gallery=True) as gw:
        ada, bo = gw.gateway.db.add_student("ada", 100), gw.gateway.db.add_student("bo", 100)
        task_id = loopback.post(gw.base_url + SUBMIT, json=body(), headers=bearer(ada)).json()[
            "data"
        ]["id"]
        assert wait_result(gw.base_url, bo, task_id)["status"] == "completed"


def test_nothing_answered_500(gateway: RunningGateway, ada: str) -> None:
    """A burst of odd requests: every answer is a 4xx JSON envelope or a success."""
    base = gateway.base_url
    odd = [
        ("POST", SUBMIT, {"prompt": "\x00" * 10}),
        ("POST", SUBMIT, {"prompt": "x" * 100_000}),
        ("POST", SUBMIT, {"prompt": "x", "enable_sync_mode": "yes"}),
        ("POST", SUBMIT, {"prompt": "x", "size": None}),
        ("POST", "/api/v3/wavespeed-ai/prompt-optimizer", {"text": 5}),
        ("GET", "/api/v3/predictions/" + "z" * 5000 + "/result", None),
        ("GET", "/dashboard", None),
        ("GET", "/dashboard/state.json", None),
        ("POST", "/dashboard/students/ada/revoke", None),
    ]
    codes = []
    for method, path, payload in odd:
        r = loopback.request(
            method, base + path, json=payload, headers=bearer(ada), timeout=TIMEOUT
        )
        assert r.status_code < 500, (path, r.status_code, r.text[:200])
        assert isinstance(r.json()["message"], str)
        codes.append(r.status_code)
    assert codes[1:] == [413, 400, 400, 400, 404, 401, 401, 401]
    assert gateway.gateway.db.student("ada").revoked is False  # type: ignore[union-attr]


async def test_a_paths_own_body_cap_holds_under_a_prefix() -> None:
    """Under the Hub the app is served at ``/services/klein`` (its ``root_path``): a path's
    cap is found without the prefix, as the routes find the path (tests/hub does it live)."""

    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()
        await PlainTextResponse("read")(scope, receive, send)

    app = BodyLimit(echo, max_bytes=10, timeout=5, larger={"/big": 100, "/files/": 100})
    for root in ("", "/services/klein"):
        transport = httpx.ASGITransport(app=app, root_path=root)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw" + root) as http:
            for path, size, status in [("/big", 50, 200), ("/files/a", 50, 200),
                                       ("/big", 101, 413), ("/small", 11, 413)]:  # fmt: skip
                answer = await http.post(path.lstrip("/"), content=b"x" * size)
                assert (root, path, size, answer.status_code) == (root, path, size, status)
