"""The klein family through the gateway, driven with raw requests (issue 24): every model's
submit path, each model's price charged (an unconfirmed one reserves the family's highest
known price and says so), edits' ``images`` and LoRA ``loras`` checked before any charge,
upload tickets from upstream with the teacher's key (never in the answer) under per-student
caps, the price endpoint answered here, and the dashboard and CSV naming each task's model.

The upstream is the package's emulator over loopback, with a canary key it insists on
(conftest's `class_gw`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from klein_widget.client._family import HIGHEST_KNOWN_PRICE_MILLS, MODELS, resolve_model
from klein_widget.client._upload_answers import price_mills
from klein_widget.emulator import RunningEmulator
from klein_widget.gateway import RunningGateway, start
from klein_widget.gateway._uploads import UploadLimits
from tests.gateway import loopback
from tests.gateway.conftest import TEACHER_KEY, bearer, body

EDIT_9B = resolve_model("9b-edit")
T2I_9B = resolve_model("9b")
LORA_4B = resolve_model("4b-lora")
PNG_BYTES = Path(__file__).resolve().parents[2] / "docs" / "panel-top.png"


def _left(gw: RunningGateway, name: str) -> int:
    student = gw.gateway.db.student(name)
    assert student is not None
    return student.left_mills


def _post(gw: RunningGateway, token: str, path: str, payload: Any) -> httpx.Response:
    return loopback.post(gw.base_url + path, json=payload, headers=bearer(token), timeout=10)


def test_the_index_lists_every_model_of_the_family(class_gw: RunningGateway) -> None:
    listed = loopback.get(class_gw.base_url + "/").json()["models"]
    assert [m.id for m in MODELS] == listed[: len(MODELS)]


@pytest.mark.parametrize(
    ("path", "extra", "status", "words"),
    [
        (T2I_9B.path, {"images": ["https://example.org/a.png"]}, 400, "takes no reference"),
        (resolve_model("4b").path, {"loras": [{"path": "a/b"}]}, 400, "takes no LoRAs"),
        (EDIT_9B.path, {}, 400, "1 to 4 reference images, not 0"),
        (EDIT_9B.path, {"images": []}, 400, "1 to 4 reference images, not 0"),
        (EDIT_9B.path, {"images": ["https://example.org/a.png"] * 5}, 400, "not 5"),
        (EDIT_9B.path, {"images": ["file:///etc/passwd"]}, 400, "http(s) URLs"),
        (EDIT_9B.path, {"images": [7]}, 400, "http(s) URLs"),
        (EDIT_9B.path, {"images": "https://example.org/a.png"}, 400, "http(s) URLs"),
        (LORA_4B.path, {"loras": [{"path": "a/b", "scale": 3}]}, 400, "scale must be"),
        (LORA_4B.path, {"loras": [{"path": ""}]}, 400, "needs a path"),
        (LORA_4B.path, {"loras": [{"path": "a/b"}] * 4}, 400, "at most 3"),
        (LORA_4B.path, {"loras": "a/b"}, 400, "loras must be a list"),
        ("/api/v3/wavespeed-ai/flux-2-klein-12b/text-to-image", {}, 404, "not found"),
    ],
)
def test_bad_family_input_is_refused_before_any_charge(
    class_gw: RunningGateway, path: str, extra: dict[str, Any], status: int, words: str
) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    answer = _post(class_gw, ada, path, body(**extra))
    assert answer.status_code == status, answer.text
    assert words in answer.json()["message"]
    assert _left(class_gw, "ada") == 2000
    assert class_gw.gateway.db.tasks("queued", "forwarding", "submitted", "following") == []


def _ticket(gw: RunningGateway, token: str, size: int) -> httpx.Response:
    asked = {"filename": "photo.png", "size": size, "content_type": "image/png"}
    return _post(gw, token, "/api/v3/media/uploads", asked)


def test_an_upload_ticket_comes_from_upstream_free_and_without_the_key(
    class_gw: RunningGateway, loopback_upstream: RunningEmulator
) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    data = PNG_BYTES.read_bytes()[:4096]
    answer = _ticket(class_gw, ada, len(data))
    assert answer.status_code == 200, answer.text
    assert TEACHER_KEY not in answer.text
    assert ada not in answer.text
    ticket = answer.json()["data"]
    assert ticket["upload"]["url"].startswith(loopback_upstream.base_url)  # the storage, not us
    put = loopback.put(ticket["upload"]["url"], content=data, headers=ticket["upload"]["headers"])
    assert put.status_code == 200  # the emulator refuses a PUT that carries any key
    assert loopback.get(ticket["download_url"]).content == data
    assert _left(class_gw, "ada") == 2000  # uploads are not charged


def test_uploads_are_capped_per_student(tmp_path: Path, loopback_upstream: RunningEmulator) -> None:
    caps = UploadLimits(max_bytes=4 << 20, per_hour=3)
    url = loopback_upstream.base_url
    with start(tmp_path / "c.sqlite3", upstream=url, api_key=TEACHER_KEY, uploads=caps) as gw:
        ada = gw.gateway.db.add_student("ada", 2000)
        bo = gw.gateway.db.add_student("bo", 2000)
        too_big = _ticket(gw, ada, (4 << 20) + 1)
        assert too_big.status_code == 413
        assert [_ticket(gw, ada, 100).status_code for _ in range(3)] == [200] * 3
        fourth = _ticket(gw, ada, 100)
        assert fourth.status_code == 429
        assert int(fourth.headers["Retry-After"]) > 0
        assert _ticket(gw, bo, 100).status_code == 200  # one student's cap is theirs alone


def test_a_ticket_needs_a_class_token(class_gw: RunningGateway) -> None:
    asked = {"filename": "photo.png", "size": 10}
    nobody = loopback.post(class_gw.base_url + "/api/v3/media/uploads", json=asked)
    assert nobody.status_code == 401
    wrong = loopback.post(
        class_gw.base_url + "/api/v3/media/uploads", json=asked, headers=bearer("kgw_nope")
    )
    assert wrong.status_code == 401


def test_the_price_endpoint_answers_what_the_gateway_charges(class_gw: RunningGateway) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    for model in MODELS:
        answer = _post(class_gw, ada, "/api/v3/model/price", {"model_id": model.id, "inputs": {}})
        assert answer.status_code == 200
        data = answer.json()["data"]
        assert data["price_mills"] == model.reserve_mills
        assert data["price_confirmed"] is model.price_confirmed
        # The client's reader takes a confirmed price and never the gateway's reserve.
        assert price_mills(data) == (model.price_mills if model.price_confirmed else None)
        assert TEACHER_KEY not in answer.text
    unknown = _post(class_gw, ada, "/api/v3/model/price", {"model_id": "nope"})
    assert unknown.status_code == 404
    assert loopback.post(class_gw.base_url + "/api/v3/model/price", json={}).status_code == 401


def test_each_model_is_charged_its_price_and_an_unconfirmed_one_is_marked(
    class_gw: RunningGateway,
) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    four = _post(class_gw, ada, resolve_model("4b").path, body(seed=1)).json()["data"]
    nine = _post(class_gw, ada, T2I_9B.path, body(seed=1)).json()["data"]
    assert four["model"] == resolve_model("4b").id
    assert (four["gateway"]["model"], four["gateway"]["cost"]) == ("4b", 0.008)
    assert four["gateway"]["price_confirmed"] is True
    assert nine["model"] == T2I_9B.id
    assert nine["gateway"]["model"] == "9b"
    assert nine["gateway"]["cost"] == HIGHEST_KNOWN_PRICE_MILLS / 1000  # reserved
    assert nine["gateway"]["price_confirmed"] is False
    assert _left(class_gw, "ada") == 2000 - 8 - HIGHEST_KNOWN_PRICE_MILLS


def test_a_budget_refusal_says_an_unconfirmed_price_is_reserved(class_gw: RunningGateway) -> None:
    ada = class_gw.gateway.db.add_student("ada", 10)
    refused = _post(class_gw, ada, T2I_9B.path, body())
    assert refused.status_code == 402
    assert "$0.016, reserved: its price is unconfirmed" in refused.json()["message"]
    assert _left(class_gw, "ada") == 10


def test_the_csv_and_the_dashboard_name_each_tasks_model(class_gw: RunningGateway) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    _post(class_gw, ada, resolve_model("4b").path, body(seed=3))
    _post(class_gw, ada, T2I_9B.path, body(seed=3))
    cookie = {"klein_teacher": class_gw.gateway.teacher_token}
    got = loopback.get(class_gw.base_url + "/dashboard/tasks.csv", cookies=cookie)
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert sorted((r["model"], r["cost_dollars"], r["price_confirmed"]) for r in rows) == [
        ("4b", "0.008", "1"),
        ("9b", str(HIGHEST_KNOWN_PRICE_MILLS / 1000), "0"),
    ]
    number = class_gw.gateway.db.student_ids()["ada"]
    page = loopback.get(f"{class_gw.base_url}/dashboard/students/{number}", cookies=cookie).text
    assert "<td>9b</td>" in page
    assert "(unconfirmed)" in page
    reserved = f"(${HIGHEST_KNOWN_PRICE_MILLS / 1000:.3f} of it at unconfirmed prices"
    assert reserved in page
    assert reserved in loopback.get(class_gw.base_url + "/dashboard", cookies=cookie).text
    state = loopback.get(class_gw.base_url + "/dashboard/state.json", cookies=cookie).json()
    assert {t["model"] for t in state["tasks"]} <= {"4b", "9b"}


def _echoing_storage() -> Starlette:
    """An upstream whose upload ticket quotes the Authorization header it was sent."""

    async def ticket(request: Request) -> JSONResponse:
        header = request.headers.get("authorization", "")
        upload = {"method": "PUT", "url": "https://storage.example/u/1", "headers": {"X": header}}
        data = {"upload": upload, "download_url": "https://storage.example/f/1.png"}
        return JSONResponse({"code": 200, "message": "success", "data": data})

    return Starlette(routes=[Route("/api/v3/media/uploads", ticket, methods=["POST"])])


def test_a_ticket_that_quotes_the_key_is_never_passed_on(tmp_path: Path) -> None:
    with start(tmp_path / "class.sqlite3", upstream=_echoing_storage(), api_key=TEACHER_KEY) as gw:
        ada = gw.gateway.db.add_student("ada", 2000)
        answer = _ticket(gw, ada, 100)
    assert answer.status_code == 502
    assert TEACHER_KEY not in answer.text
    assert "no upload ticket" in answer.json()["message"]


def test_a_price_the_gateways_client_learned_is_charged_and_confirmed(
    class_gw: RunningGateway,
) -> None:
    """Once the gateway's own client has WaveSpeed's price for a model (its price endpoint,
    asked at the model's first paid image), students are charged that price, confirmed."""
    ada = class_gw.gateway.db.add_student("ada", 2000)
    class_gw.gateway.upstream.client.prices.correct(T2I_9B, 11)
    nine = _post(class_gw, ada, T2I_9B.path, body(seed=4)).json()["data"]["gateway"]
    assert (nine["cost"], nine["price_confirmed"]) == (0.011, True)
    asked = {"model_id": T2I_9B.id, "inputs": {}}
    price = _post(class_gw, ada, "/api/v3/model/price", asked).json()["data"]
    assert (price["price_mills"], price["price_confirmed"]) == (11, True)
    assert _left(class_gw, "ada") == 2000 - 11
