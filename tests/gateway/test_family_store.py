"""The class's store and the klein family (issues 21, 22, 24): in-flight sharing matches the
one recipe key (a 4B and a 9B request for the same prompt and seed never share), edits are
keyed by their references' content (two uploads of one photo are one reference), an old
class database gains the family's columns, `ClassDB.update` sets only its fixed columns,
a hidden image asked for inline is not handed out, and a rehearsal gateway passes uploads
to its in-process emulator."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from klein_widget.client._models import GenerationRequest
from klein_widget.emulator import RunningEmulator
from klein_widget.gateway import ClassDB, RunningGateway, start
from klein_widget.gateway._api import read_ask
from klein_widget.gateway._rows import Inputs
from tests.gateway import loopback
from tests.gateway.conftest import SUBMIT, TEACHER_KEY, bearer, body, wait_result

T2I_4B = "wavespeed-ai/flux-2-klein-4b/text-to-image"
T2I_9B = "wavespeed-ai/flux-2-klein-9b/text-to-image"
EDIT_9B = "wavespeed-ai/flux-2-klein-9b/edit"
PHOTO = (Path(__file__).resolve().parents[2] / "docs" / "panel-top.png").read_bytes()


def _inputs(path: str, **fields: object) -> tuple[GenerationRequest, Inputs]:
    asked = read_ask(path, {"prompt": "a red fox", "size": "512*512", "seed": 7, **fields})
    return asked, Inputs.of(asked)


def test_in_flight_sharing_matches_the_recipe_key_not_the_columns(tmp_path: Path) -> None:
    db = ClassDB(tmp_path / "class.sqlite3")
    for name in ("ada", "bo", "cy", "di"):
        db.add_student(name, 2000)
    four, four_inputs = _inputs(T2I_4B)
    nine, nine_inputs = _inputs(T2I_9B)
    leader = db.open_or_follow("ada", four, 8, share=True, inputs=four_inputs)
    other = db.open_or_follow("bo", nine, 16, share=True, inputs=nine_inputs)
    same = db.open_or_follow("cy", four, 8, share=True, inputs=four_inputs)
    assert leader is not None
    assert other is not None
    assert same is not None
    assert (leader.status, other.status) == ("queued", "queued")  # same prompt/size/seed columns
    assert (same.status, same.leader, same.cost_mills) == ("following", leader.id, 0)
    edit, edit_inputs = _inputs(EDIT_9B, images=["https://example.org/a.png"])
    other_photo, other_inputs = _inputs(EDIT_9B, images=["https://example.org/b.png"])
    first = db.open_or_follow("di", edit, 16, share=True, inputs=edit_inputs)
    second = db.open_or_follow("di", other_photo, 16, share=True, inputs=other_inputs)
    assert first is not None
    assert second is not None
    assert second.status == "queued"  # another reference: another picture


def test_followers_are_settled_in_the_write_that_finishes_their_leader(tmp_path: Path) -> None:
    """No reader sees a finished leader with an open follower (under load the follower was
    settled a few ms later, in a separate step, and a check in between found it open)."""
    db = ClassDB(tmp_path / "class.sqlite3")
    for name in ("ada", "bo", "cy", "di"):
        db.add_student(name, 2000)
    ids = []
    for name, seed in (("ada", 7), ("bo", 7), ("cy", 8), ("di", 8)):
        asked, inputs = _inputs(T2I_4B, seed=seed)
        task = db.open_or_follow(name, asked, 8, share=True, inputs=inputs)
        assert task is not None
        ids.append(task.id)
    leader, follower, refunded, follower_of_refunded = ids
    db.update(leader, status="completed", upstream_id="up-1", inference_ms=12)
    got = db.task(follower)
    assert got is not None
    assert (got.status, got.upstream_id, got.inference_ms, got.cost_mills) == (
        "completed", "up-1", 12, 0)  # fmt: skip
    db.refund(refunded, "nothing was made")
    got = db.task(follower_of_refunded)
    assert got is not None
    assert (got.status, got.cost_mills) == ("failed", 0)
    assert "nothing was made" in (got.error or "")
    assert {s.name: s.spent_mills for s in db.students()} == {"ada": 8, "bo": 0, "cy": 0, "di": 0}


def test_update_sets_only_its_fixed_columns(tmp_path: Path) -> None:
    db = ClassDB(tmp_path / "class.sqlite3")
    db.add_student("ada", 2000)
    task = db.open_task("ada", "image", GenerationRequest("a fox", 512, 512, 1), 8)
    assert task is not None
    with pytest.raises(ValueError, match="cost_mills cannot be updated"):
        db.update(task.id, cost_mills=0)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="cannot be updated"):
        db.update(task.id, **{"status = 'completed', cost_mills": 0})
    db.update(task.id, status="failed", error="why")
    after = db.task(task.id)
    assert after is not None
    assert (after.status, after.error, after.cost_mills) == ("failed", "why", 8)
    assert after.done_at is not None


OLD_TASKS = """CREATE TABLE tasks (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
student TEXT NOT NULL, kind TEXT NOT NULL, prompt TEXT NOT NULL, width INTEGER NOT NULL DEFAULT 0,
height INTEGER NOT NULL DEFAULT 0, seed INTEGER NOT NULL DEFAULT -1, seed_drawn INTEGER NOT NULL
DEFAULT 0, sync_mode INTEGER NOT NULL DEFAULT 0, base64_output INTEGER NOT NULL DEFAULT 0, status
TEXT NOT NULL, upstream_id TEXT, cost_mills INTEGER NOT NULL, cached INTEGER NOT NULL DEFAULT 0,
error TEXT NOT NULL DEFAULT '', text_output TEXT, inference_ms INTEGER, created_at TEXT NOT NULL,
done_at TEXT, leader TEXT, style TEXT)"""


def test_a_class_database_from_before_the_family_reads_as_4b(tmp_path: Path) -> None:
    path = tmp_path / "class.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(OLD_TASKS)
        old.execute(
            "INSERT INTO tasks (id, student, kind, prompt, width, height, seed, status, "
            "cost_mills, created_at) VALUES ('t1', 'ada', 'image', 'a fox', 512, 512, 3, "
            "'completed', 8, '2026-12-01T10:00:00')"
        )
    db = ClassDB(path)
    task = db.task("t1")
    assert task is not None
    assert (task.inputs.model, task.inputs.price_confirmed, task.inputs.images) == ("4b", True, ())
    assert task.inputs.klein_model.id == T2I_4B


def _upload(gw: RunningGateway, token: str, data: bytes) -> str:
    asked = {"filename": "photo.png", "size": len(data), "content_type": "image/png"}
    got = loopback.post(gw.base_url + "/api/v3/media/uploads", json=asked, headers=bearer(token))
    ticket = got.json()["data"]
    put = loopback.put(ticket["upload"]["url"], content=data, headers=ticket["upload"]["headers"])
    assert put.status_code == 200
    url: str = ticket["download_url"]
    return url


def test_two_uploads_of_one_photo_are_one_reference(
    class_gw: RunningGateway, loopback_upstream: RunningEmulator
) -> None:
    db = class_gw.gateway.db
    ada, bo = db.add_student("ada", 2000), db.add_student("bo", 2000)
    urls = [_upload(class_gw, token, PHOTO) for token in (ada, bo)]
    assert urls[0] != urls[1]
    # A URL the gateway did not hand out is keyed by its text, never fetched by the gateway.
    direct = loopback.post(
        loopback_upstream.base_url + "/api/v3/media/uploads",
        json={"filename": "x.png", "size": 3},
        headers=bearer(TEACHER_KEY),
    ).json()["data"]["download_url"]
    for token, url in ((ada, urls[0]), (bo, urls[1]), (bo, direct)):
        edit = body("make it night", images=[url], seed=-1)
        answer = loopback.post(
            f"{class_gw.base_url}/api/v3/{EDIT_9B}", json=edit, headers=bearer(token)
        )
        assert answer.status_code == 200, answer.text
    tasks = db.tasks("queued", "forwarding", "submitted", "pending", "completed", "failed")
    refs = [t.inputs.references for t in tasks]
    photo = hashlib.sha256(PHOTO).hexdigest()
    assert refs == [(photo,), (photo,), (hashlib.sha256(direct.encode()).hexdigest(),)]


def test_an_unfinished_upload_is_refused_before_any_charge(class_gw: RunningGateway) -> None:
    ada = class_gw.gateway.db.add_student("ada", 2000)
    asked = {"filename": "photo.png", "size": len(PHOTO), "content_type": "image/png"}
    ticket = loopback.post(
        class_gw.base_url + "/api/v3/media/uploads", json=asked, headers=bearer(ada)
    ).json()["data"]  # no PUT follows
    edit = body("make it night", images=[ticket["download_url"]])
    answer = loopback.post(f"{class_gw.base_url}/api/v3/{EDIT_9B}", json=edit, headers=bearer(ada))
    assert answer.status_code == 400
    assert "finish the upload's PUT" in answer.json()["message"]
    student = class_gw.gateway.db.student("ada")
    assert student is not None
    assert student.spent_mills == 0


def test_a_hidden_image_asked_for_inline_is_not_handed_out(gateway: RunningGateway) -> None:
    db = gateway.gateway.db
    ada = db.add_student("ada", 2000)
    inline = body(enable_base64_output=True, enable_sync_mode=True)
    made = loopback.post(gateway.base_url + SUBMIT, json=inline, headers=bearer(ada)).json()["data"]
    assert made["status"] == "completed"
    assert not made["outputs"][0].startswith("http")  # base64 while it is shown
    task = db.task(made["id"])
    assert task is not None
    db.hide_image(task.upstream_id or "", True)
    again = wait_result(gateway.base_url, ada, made["id"])
    link = f"{gateway.base_url}/gateway/images/{made['id']}.png"
    assert again["outputs"] == [link]  # the link, not the bytes
    assert again["gateway"]["hidden"] is True
    refused = loopback.get(link)
    assert refused.status_code == 404
    assert "your teacher hid it" in refused.json()["message"]


def test_a_rehearsal_gateway_passes_uploads_to_its_emulator(gateway: RunningGateway) -> None:
    ada = gateway.gateway.db.add_student("ada", 2000)
    asked = {"filename": "photo.png", "size": len(PHOTO), "content_type": "image/png"}
    ticket = loopback.post(
        gateway.base_url + "/api/v3/media/uploads", json=asked, headers=bearer(ada)
    ).json()["data"]
    assert ticket["upload"]["url"].startswith(gateway.base_url + "/emulator/uploads/")
    keyed = loopback.put(
        ticket["upload"]["url"],
        content=PHOTO,
        headers={**ticket["upload"]["headers"], **bearer(ada)},
    )
    assert keyed.status_code == 400  # a key never goes to the storage URL
    put = loopback.put(ticket["upload"]["url"], content=PHOTO, headers=ticket["upload"]["headers"])
    assert put.status_code == 200
    assert loopback.get(ticket["download_url"]).content == PHOTO


def test_an_upload_handed_out_before_a_restart_is_still_keyed_by_content(
    tmp_path: Path, loopback_upstream: RunningEmulator
) -> None:
    db_path, url = tmp_path / "class.sqlite3", loopback_upstream.base_url
    with start(db_path, upstream=url, api_key=TEACHER_KEY) as first:
        ada = first.gateway.db.add_student("ada", 2000)
        photo_url = _upload(first, ada, PHOTO)
    with start(db_path, upstream=url, api_key=TEACHER_KEY) as second:
        edit = body("make it night", images=[photo_url], seed=-1)
        answer = loopback.post(
            f"{second.base_url}/api/v3/{EDIT_9B}", json=edit, headers=bearer(ada)
        )
        assert answer.status_code == 200, answer.text
        task = second.gateway.db.task(answer.json()["data"]["id"])
    assert task is not None
    assert task.inputs.references == (hashlib.sha256(PHOTO).hexdigest(),)
