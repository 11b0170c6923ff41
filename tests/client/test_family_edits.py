"""Edits of local images through the client (issue 24), sync and async, on the in-process
emulator: uploaded once each then submitted, keyed by their bytes (a fixed-seed re-run is
free), a failed upload sends no submit; and an unconfirmed price asked of a real server
once, then used."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from klein_widget import KleinClient, KleinError
from klein_widget.emulator import Emulator, create_app
from tests.client.conftest import Both
from tests.conftest import FAKE_KEY, fast_options

UPLOADS = "/api/v3/media/uploads"
EDIT_4B = "/api/v3/wavespeed-ai/flux-2-klein-4b/edit"
PRICE = "/api/v3/model/price"
REAL_URL = "http://real.test"  # served in-process: a non-loopback name, no network


def png(colour: str, size: tuple[int, int] = (320, 256)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


async def test_local_images_are_uploaded_once_then_edited(
    klein: Both, emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "my holiday photo.png"
    path.write_bytes(png("red"))
    first = await klein("edit", "make it night", [path, png("blue")], seed=7)
    again = await klein("edit", "make it night", [path.read_bytes(), png("blue")], seed=7)
    other = await klein("edit", "make it snowy", [Image.open(path), first], seed=7)

    assert emulator.count("POST", UPLOADS) == 3  # red, blue, then the first edit's image
    assert emulator.count("POST", EDIT_4B) == 2
    assert again.from_gallery  # the same bytes, however given: the same recipe
    assert again.task_id == first.task_id
    assert not other.from_gallery
    assert emulator.tasks[first.task_id].references[0] == path.read_bytes()
    assert first.image[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(url.startswith("http") for url in first.images)
    assert str(tmp_path) not in repr(emulator.tasks[first.task_id])
    assert first.size == (320, 256)  # no size sent: the first reference's


async def test_a_failed_upload_sends_no_submit(klein: Both, emulator: Emulator) -> None:
    emulator.script("upload", 400)
    with pytest.raises(KleinError):
        await klein("edit", "make it night", [png("red")], seed=7)

    assert emulator.count("POST", EDIT_4B) == 0
    assert klein.client.spend.images == 0


async def test_edit_many_uploads_each_image_once(klein: Both, emulator: Emulator) -> None:
    red, blue = png("red"), png("blue")
    items = [("make it night", [red]), ("make it snowy", [red, blue]), ("make it dusk", [blue])]
    result = await klein("edit_many", items, seed=7, progress=False)

    assert [item.ok for item in result] == [True, True, True]
    assert emulator.count("POST", UPLOADS) == 2
    assert emulator.count("POST", EDIT_4B) == 3


def priced(app: Starlette, mills: int, asked: list[str]) -> Starlette:
    """``app`` with a price endpoint that names ``mills`` for every model (as WaveSpeed
    may, once it publishes a price), noting each question in ``asked``."""

    async def price(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PRICE:
            asked.append(scope["method"])
            await JSONResponse({"code": 200, "data": {"price_mills": mills}})(scope, receive, send)
        else:
            await app(scope, receive, send)

    wrapper = Starlette()
    wrapper.mount("/", price)
    wrapper.state.emulator = app.state.emulator
    return wrapper


@pytest.fixture
def real() -> Iterator[tuple[KleinClient, list[str]]]:
    app, asked = create_app(inference_time=0.01, simulated=False), []
    with (
        TestClient(priced(app, 10, asked), base_url=REAL_URL) as http,
        KleinClient(FAKE_KEY, REAL_URL, http_client=http, gallery=False, **fast_options()) as c,
    ):
        yield c, asked


def test_an_unconfirmed_price_is_asked_once_then_used(real: tuple[KleinClient, list[str]]) -> None:
    client, asked = real
    first = client.generate("a fox", model="9b", width=256, height=256, seed=1)
    client.generate("a fox", model="9b", width=256, height=256, seed=2)
    client.generate("a fox", width=256, height=256, seed=3)  # 4B: published, never asked

    assert asked == ["POST"]
    assert first.cost == 0.010
    assert first.price_confirmed
    assert client.spend.mills == 10 + 10 + 8
    assert str(client.spend) == "3 images, $0.028"
    assert client.prices.source("9b") == "WaveSpeed's price endpoint"


def test_an_emulator_is_never_asked_its_price(emulator_app: Starlette) -> None:
    local = "http://127.0.0.1:8765"  # loopback: an emulator (served in-process here)
    with (
        TestClient(emulator_app, base_url=local) as http,
        KleinClient(FAKE_KEY, local, http_client=http, gallery=False, **fast_options()) as c,
    ):
        c.generate("a fox", model="9b", width=256, height=256, seed=1)
        assert str(c.spend) == "1 image, $0.016 simulated, price unconfirmed"
    assert emulator_app.state.emulator.count("POST", PRICE) == 0
