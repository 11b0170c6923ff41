"""``edit()`` of local images through the whole client on the emulator, sync and async:
a `Generation`, a gallery entry, a file and a PIL image uploaded (each distinct one once),
the edit keeping the first reference's size, and a fixed-seed re-run free and unsent."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette

from klein_widget import APIStatusError, Gallery, InvalidRequestError
from klein_widget.emulator import create_app
from tests.emulator.kinds import FOX, KEY, URL, Make, make

__all__ = ["make"]  # the fixture (tests/emulator/kinds.py), used by name

TICKET = "/api/v3/media/uploads"


@pytest.fixture
def app() -> Starlette:
    return create_app(inference_time=0.01, api_key=KEY)


async def test_edit_of_every_kind_of_local_image(
    make: Make, app: Starlette, tmp_path: Path
) -> None:
    emu = app.state.emulator
    folder = tmp_path / "gallery"
    client = make(app, gallery=str(folder))
    made = await client.call("generate", "a red barn", width=384, height=256, seed=3)
    entry = Gallery(folder).entry(made.task_id)
    assert entry is not None
    photo = tmp_path / "my photo.png"
    photo.write_bytes(FOX)
    picture = Image.new("RGB", (300, 200), (10, 20, 30))
    images = [made, entry, photo, picture]
    edited = await client.call("edit", "make it night", images, seed=7)
    assert edited.to_pil().size == (384, 256)  # the first reference's size
    assert all(url.startswith(URL + "/emulator/files/") for url in edited.request.images)
    assert edited.request.references[0] == hashlib.sha256(made.image).hexdigest()
    assert edited.request.references[2] == hashlib.sha256(FOX).hexdigest()
    distinct = len(set(edited.request.references))
    assert emu.count("POST", TICKET) == distinct
    assert emu.accepted == 2  # the generation and the edit; uploads are free
    again = await client.call("edit", "make it night", images, seed=7)
    assert again.from_gallery  # the same edit of the same images: from disk, not paid
    assert emu.count("POST", TICKET) == distinct  # and nothing uploaded for it
    assert emu.accepted == 2
    other = await client.call("edit", "make it blue", [photo], seed=7)
    assert other.to_pil().size == (320, 256)
    assert emu.count("POST", TICKET) == distinct  # uploaded once per client


async def test_a_bad_reference_is_refused_before_anything_is_sent(
    make: Make, app: Starlette, tmp_path: Path
) -> None:
    client = make(app)
    with pytest.raises(InvalidRequestError, match=r"images\[1\]: cannot read"):
        await client.call("edit", "make it night", [FOX, tmp_path / "gone.png"])
    with pytest.raises(InvalidRequestError, match="at most 4"):
        await client.call("edit", "make it night", [FOX] * 5)
    assert app.state.emulator.requests == []


async def test_a_failed_upload_leads_to_no_submit(make: Make, app: Starlette) -> None:
    emu = app.state.emulator
    emu.script("upload", "ok", 403)  # the ticket, then the PUT refused
    with pytest.raises(APIStatusError, match="the upload host refused") as info:
        await make(app).call("edit", "make it night", [FOX], seed=2)
    assert info.value.maybe_accepted is False
    assert emu.accepted == 0
    assert [r.method for r in emu.requests] == ["POST", "PUT"]
