"""Rules keyed by a request's path hold under the Hub's service prefix (``/services/klein``)
as they do at a gateway's root: a hand-in's and a rehearsal upload's own body caps (not
the 64 KiB of a JSON body), and a rehearsal upload reaching the in-process emulator."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from klein_widget.client._models import GenerationRequest
from klein_widget.gateway._db import ClassDB
from klein_widget.store import make_pack
from tests.gateway import loopback
from tests.hub.conftest import Hub
from tests.store.packs import teach

pytestmark = pytest.mark.slow

JSON_CAP = 64 << 10  # a JSON body's cap: what each body below is larger than
PHOTO = (Path(__file__).resolve().parents[2] / "docs" / "panel-top.png").read_bytes()
EDIT = "wavespeed-ai/flux-2-klein-4b/edit"


def test_a_hand_in_larger_than_a_json_body_is_taken_through_the_hub(
    hub: Hub, tmp_path: Path
) -> None:
    lesson = [GenerationRequest("a paper boat", width=1024, height=1024, seed=s) for s in (1, 2)]
    teach(tmp_path / "klein-outputs", lesson)
    make_pack(tmp_path / "klein-outputs", tmp_path / "lesson.zip")
    pack = (tmp_path / "lesson.zip").read_bytes()
    assert len(pack) > JSON_CAP
    headers = {"Authorization": f"Bearer {hub.server_token('hana')}"}
    url = hub.url + "/services/klein/api/klein/hand-in?title=lesson%2002"
    answer = loopback.post(url, content=pack, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text[:500]
    assert (answer.json()["data"]["images"], answer.json()["data"]["size"]) == (2, len(pack))
    db = ClassDB(hub.folder / "class.sqlite3")
    try:
        assert [(h.title, h.images) for h in db.hand_ins("hana")] == [("lesson 02", 2)]
    finally:
        db.close()


def test_a_rehearsal_upload_through_the_hub_reaches_the_emulator_and_an_edit(hub: Hub) -> None:
    assert len(PHOTO) > JSON_CAP
    headers = {"Authorization": f"Bearer {hub.server_token('ivo')}"}
    base = hub.url + "/services/klein"
    asked = {"filename": "photo.png", "size": len(PHOTO), "content_type": "image/png"}
    got = loopback.post(base + "/api/v3/media/uploads", json=asked, headers=headers, timeout=30)
    assert got.status_code == 200, got.text[:500]
    ticket = got.json()["data"]
    assert ticket["upload"]["url"].startswith(base + "/emulator/uploads/")
    put = loopback.put(ticket["upload"]["url"], content=PHOTO,
                       headers=ticket["upload"]["headers"], timeout=30)  # fmt: skip
    assert put.status_code == 200, put.text[:500]
    download = loopback.get(ticket["download_url"], timeout=30)
    assert download.status_code == 200, download.text[:500]
    assert download.content == PHOTO
    # The student's edit of it: the emulator reads the upload, the class keys it by content.
    edit = {"prompt": "make it night", "size": "320*256", "seed": 3,
            "images": [ticket["download_url"]], "enable_sync_mode": True}  # fmt: skip
    made = loopback.post(f"{base}/api/v3/{EDIT}", json=edit, headers=headers, timeout=60)
    assert made.status_code == 200, made.text[:500]
    data = made.json()["data"]
    assert data["status"] == "completed", data
    db = ClassDB(hub.folder / "class.sqlite3")
    try:
        task = db.task(data["id"])
    finally:
        db.close()
    assert task is not None
    assert task.inputs.references == (hashlib.sha256(PHOTO).hexdigest(),)
