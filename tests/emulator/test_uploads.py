"""WaveSpeed's upload protocol on the emulator: the ticket, the key-less PUT, the download,
and the official SDK's ``upload()`` then ``run()`` of an edit, unchanged, over loopback."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
import wavespeed
from PIL import Image

from klein_widget.client._family import resolve_model
from klein_widget.emulator import Emulator, RunningEmulator, create_app
from klein_widget.emulator._render import render_png
from klein_widget.emulator._uploads import UPLOAD_KEY_REFUSED

from .conftest import AUTH

UPLOADS = "/api/v3/media/uploads"


def ticket_for(data: bytes, name: str = "ref.png", kind: str = "image/png") -> dict[str, Any]:
    return {"filename": name, "size": len(data), "content_type": kind}


async def test_ticket_put_and_download(
    http: httpx.AsyncClient, bare: httpx.AsyncClient, emu: Emulator
) -> None:
    data = render_png("a fox", 1, 256, 256)
    r = await http.post(UPLOADS, json=ticket_for(data, "my fox.png"))
    assert r.status_code == 200
    env = r.json()
    assert (env["code"], set(env["data"])) == (200, {"upload", "download_url"})
    put = env["data"]["upload"]
    assert put["method"] == "PUT"
    assert put["headers"] == {"Content-Type": "image/png"}
    url = env["data"]["download_url"]
    assert url.endswith("/my%20fox.png")
    assert (await bare.get(url)).status_code == 404  # nothing until the PUT
    assert (await bare.put(put["url"], content=data, headers=put["headers"])).status_code == 200
    got = await bare.get(url)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert emu.accepted == 0  # uploads are not billed
    assert emu.billed_mills == 0


async def test_the_put_refuses_a_key(http: httpx.AsyncClient, bare: httpx.AsyncClient) -> None:
    data = b"\x89PNG...."
    ticket = (await http.post(UPLOADS, json=ticket_for(data))).json()["data"]
    put = ticket["upload"]
    r = await http.put(put["url"], content=data, headers=put["headers"])  # carries AUTH
    assert r.status_code == 400
    assert r.json()["message"] == UPLOAD_KEY_REFUSED
    assert "emulator-test-key" not in r.text
    assert (await bare.get(ticket["download_url"])).status_code == 404  # nothing stored


@pytest.mark.parametrize(
    ("sent", "headers", "status", "says"),
    [
        (b"12345", {"Content-Type": "image/png"}, 400, "for 4 bytes"),
        (b"123", {"Content-Type": "image/png"}, 400, "for 4 bytes"),
        (b"1234", {"Content-Type": "image/jpeg"}, 400, "Content-Type must be 'image/png'"),
    ],
)
async def test_a_put_unlike_its_ticket_is_refused(
    http: httpx.AsyncClient,
    bare: httpx.AsyncClient,
    sent: bytes,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    ticket = (await http.post(UPLOADS, json=ticket_for(b"1234"))).json()["data"]
    r = await bare.put(ticket["upload"]["url"], content=sent, headers=headers)
    assert r.status_code == status
    assert says in r.json()["message"]
    assert (await bare.get(ticket["download_url"])).status_code == 404


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"size": 10}, 400),
        ({"filename": "", "size": 10}, 400),
        ({"filename": "a.png", "size": 0}, 400),
        ({"filename": "a.png", "size": True}, 400),
        ({"filename": "a.png", "size": 10, "content_type": "png"}, 400),
        ({"filename": "a.png", "size": 1 << 40}, 413),
    ],
)
async def test_a_bad_ticket_request_is_refused(
    http: httpx.AsyncClient, fields: dict[str, Any], status: int
) -> None:
    assert (await http.post(UPLOADS, json=fields)).status_code == status


async def test_a_put_to_an_unknown_ticket_is_404(bare: httpx.AsyncClient) -> None:
    r = await bare.put("/emulator/uploads/nope", content=b"x")
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("path", "ask"),
    [
        (UPLOADS, ticket_for(b"ab")),
        ("/api/v3/model/price", {"model_id": resolve_model("4b").id, "inputs": {}}),
    ],
)
async def test_tickets_and_prices_want_the_key_when_one_is_set(
    path: str, ask: dict[str, Any]
) -> None:
    app = create_app(api_key="emulator-test-key")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        assert (await client.post(path, json=ask)).status_code == 401
        assert (await client.post(path, json=ask, headers=AUTH)).status_code == 200


def test_reset_forgets_uploads(emu: Emulator) -> None:
    store = emu.uploads
    token = store.ticket("a.png", 5, None)
    store.put(token, b"12345")
    assert store.find(f"/emulator/files/{token}/a.png") == b"12345"
    emu.reset()
    assert store.get(token) is None


def test_the_official_sdk_uploads_and_edits_unchanged(
    live: RunningEmulator, tmp_path: Path
) -> None:
    picture = tmp_path / "barn.png"
    picture.write_bytes(render_png("a red barn", 2, 640, 384))
    client = wavespeed.Client(api_key="any-key", base_url=live.base_url, retry_interval=0.01)
    url = client.upload(str(picture))
    assert url.startswith(live.base_url)
    assert httpx.get(url).content == picture.read_bytes()
    result = client.run(
        resolve_model("9b-edit").id,
        {"prompt": "make it night", "images": [url], "seed": 3},
        poll_interval=0.01,
    )
    png = httpx.get(result["outputs"][0]).content
    assert Image.open(io.BytesIO(png)).size == (640, 384)
    assert live.emulator.accepted == 1
    assert live.emulator.billed_mills == 16
    # The key went to the ticket only, never to the PUT.
    assert live.emulator.count("PUT", "/emulator/uploads/*", status=200) == 1


async def test_an_edit_fetches_a_loopback_url_from_another_server(live: RunningEmulator) -> None:
    """A URL served on loopback (here another emulator's upload) is fetched; nothing else."""
    data = render_png("a blue lake", 4, 384, 256)
    client = wavespeed.Client(api_key="k", base_url=live.base_url, retry_interval=0.01)
    buffer = io.BytesIO(data)
    buffer.name = "lake.png"
    url = client.upload(buffer)
    app = create_app(inference_time=0.01)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=AUTH
    ) as http:
        body = {"prompt": "make it red", "images": [url], "enable_sync_mode": True}
        r = await http.post(resolve_model("4b-edit").path, json=body)
        assert r.status_code == 200, r.text
        png = (await http.get(r.json()["data"]["outputs"][0])).content
        assert Image.open(io.BytesIO(png)).size == (384, 256)
        app.state.emulator.uploads.max_bytes = 1000  # a fetch reads no more than an upload
        r = await http.post(resolve_model("4b-edit").path, json=body)
        assert r.status_code == 400
        assert r.json()["message"] == "images[0] is larger than 1000 bytes."


async def test_scripted_upload_faults_hit_the_ticket_then_the_put(
    http: httpx.AsyncClient, bare: httpx.AsyncClient, emu: Emulator
) -> None:
    data = b"abcd"
    emu.script("upload", 503, "ok", 500)
    assert (await http.post(UPLOADS, json=ticket_for(data))).status_code == 503
    ticket = (await http.post(UPLOADS, json=ticket_for(data))).json()["data"]
    put = ticket["upload"]
    assert (await bare.put(put["url"], content=data, headers=put["headers"])).status_code == 500
    assert (await bare.get(ticket["download_url"])).status_code == 404
    emu.script("upload", "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        await bare.put(put["url"], content=data, headers=put["headers"])
    assert (await bare.put(put["url"], content=data, headers=put["headers"])).status_code == 200
    assert emu.pending_script() == 0
    assert emu.accepted == 0
