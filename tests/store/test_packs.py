"""Lesson packs, the teacher's way round: made once on the emulator, then answering the same
requests for a student with a fresh gallery, sending nothing (counted on the emulator)."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import klein_widget
from klein_widget import Gallery, GenerationRequest, KleinClient
from klein_widget.emulator import Emulator, create_app
from klein_widget.store import LessonPack, make_pack, open_pack
from klein_widget.store._attached import PACKS_ENV
from klein_widget.ui._text import done_text
from tests.conftest import FAKE_KEY, TEST_URL, fast_options
from tests.store.conftest import SUBMIT_PATH
from tests.store.packs import LESSON, LOCAL_URL, SMALL, members, teach

pytestmark = pytest.mark.usefixtures("no_attached_packs")


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    teach(tmp_path / "teacher")
    out = tmp_path / "lesson.zip"
    make_pack(tmp_path / "teacher", out)
    return out


def student(gallery: Gallery) -> tuple[KleinClient, TestClient, Emulator]:
    app = create_app(inference_time=0.01)
    http = TestClient(app, base_url=LOCAL_URL)
    client = KleinClient(FAKE_KEY, LOCAL_URL, http_client=http, gallery=gallery, **fast_options())
    return client, http, app.state.emulator


def test_a_student_gets_the_teachers_images_and_sends_nothing(tmp_path: Path) -> None:
    made = teach(tmp_path / "teacher")
    manifest = make_pack(tmp_path / "teacher", tmp_path / "lesson.zip")
    assert [
        (i["prompt"], i["width"], i["height"], i["seed"]) for i in manifest["images"]
    ] == sorted((r.prompt, r.width, r.height, r.seed) for r in LESSON)

    pack = open_pack(tmp_path / "lesson.zip", verify=True)
    client, http, emulator = student(Gallery(tmp_path / "student", packs=[pack]))
    with http, client:
        # -1: never from a pack; and its answer says the server simulates, which a pack of
        # stand-ins waits for (until then a loopback server may be a gateway to WaveSpeed).
        random_seed = client.generate(LESSON[0].prompt, **SMALL)
        one = client.generate(LESSON[0])
        batch = client.generate_many(LESSON)
        assert emulator.count("POST", SUBMIT_PATH) == 1
        assert client.spend.images == 1

    assert one.image == made[0].image  # byte for byte what the teacher was served
    assert [g.image for g in batch.generations] == [g.image for g in made]
    for generation in [one, *batch.generations]:
        assert generation.from_gallery
        assert generation.from_pack == "lesson.zip"
        assert generation.cost == 0.0
    assert not random_seed.from_gallery
    assert not random_seed.from_pack
    assert done_text(one, base_url=TEST_URL).startswith(
        "From your lesson pack (lesson.zip, emulator stand-in) · seed 1 · 256×256 · $0.000"
    )


def test_the_gallerys_own_image_wins_and_fresh_asks_again(pack: Path, tmp_path: Path) -> None:
    client, http, emulator = student(Gallery(tmp_path / "student", packs=[open_pack(pack)]))
    with http, client:
        fresh = client.generate(LESSON[0], fresh=True)  # made, into the student's gallery
        again = client.generate(LESSON[0])
        assert emulator.count("POST", SUBMIT_PATH) == 1
    assert not fresh.from_gallery
    assert again.from_gallery
    assert again.from_pack == ""


def test_a_pack_answers_only_its_exact_requests(pack: Path) -> None:
    opened = open_pack(pack)
    first = LESSON[0]
    found = opened.stored(first)
    assert found is not None
    assert found.request == first  # the model asked for, sync_mode and all
    for other in (
        dataclasses.replace(first, seed=3),
        dataclasses.replace(first, width=272),
        dataclasses.replace(first, prompt=first.prompt + "!"),
        dataclasses.replace(first, seed_drawn=True),  # the same seed, but drawn for a -1
        dataclasses.replace(first, model="9b"),  # another model: not this picture
    ):
        assert opened.stored(other) is None, other
        assert opened.image_for(other) is None, other  # what the emulator serves


def test_make_pack_is_deterministic_and_the_zip_fixed(pack: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.zip"
    make_pack(tmp_path / "teacher", again)
    assert again.read_bytes() == pack.read_bytes()
    with zipfile.ZipFile(pack) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert infos[0].filename.startswith("images/")
    assert "manifest.json" in members(pack)


def test_a_folder_pack_works_the_same(tmp_path: Path) -> None:
    made = teach(tmp_path / "teacher")
    make_pack(tmp_path / "teacher", tmp_path / "lesson")
    assert (tmp_path / "lesson" / "manifest.json").is_file()
    found = open_pack(tmp_path / "lesson", verify=True).stored(LESSON[2])
    assert found is not None
    assert found.image == made[2].image


def test_use_pack_serves_the_session(pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    attached = klein_widget.use_pack(pack)
    assert isinstance(attached, LessonPack)
    assert "Using the lesson pack lesson.zip: its 3 images" in capsys.readouterr().out
    app = create_app(inference_time=0.01)
    with TestClient(app, base_url=LOCAL_URL) as http:
        klein_widget.session().configure(
            api_key=FAKE_KEY, base_url=LOCAL_URL, http_client=http, **fast_options()
        )
        first = klein_widget.session().client().generate(LESSON[0])  # server not yet heard
        gen = klein_widget.session().client().generate(LESSON[1])
        assert app.state.emulator.count("POST", SUBMIT_PATH) == 1
    assert not first.from_pack  # stand-ins answer only a server that said it simulates
    assert gen.from_pack == "lesson.zip"
    assert klein_widget.session().spend.images == 1


def test_a_pack_serves_the_session_with_the_gallery_off(pack: Path) -> None:
    klein_widget.use_pack(pack, quiet=True)
    app = create_app(inference_time=0.01)
    with TestClient(app, base_url=LOCAL_URL) as http:
        klein_widget.session().configure(
            api_key=FAKE_KEY, base_url=LOCAL_URL, http_client=http, gallery=False, **fast_options()
        )
        assert klein_widget.session().gallery is None
        klein_widget.session().client().generate(LESSON[0])  # the server says it simulates
        gen = klein_widget.session().client().generate(LESSON[1])
        assert app.state.emulator.count("POST", SUBMIT_PATH) == 1
    assert gen.from_pack == "lesson.zip"


def test_klein_packs_attaches_for_every_gallery(
    pack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "missing.zip"
    monkeypatch.setenv(PACKS_ENV, str(pack))
    found = Gallery(tmp_path / "anyone").stored(LESSON[2])
    assert found is not None
    assert found.from_pack == "lesson.zip"
    assert Gallery(tmp_path / "own", packs=()).stored(LESSON[2]) is None  # its own choice
    monkeypatch.setenv(PACKS_ENV, f"{pack}:{other}")
    with pytest.raises(klein_widget.store.PackError, match=r"\$KLEIN_PACKS names a pack"):
        Gallery(tmp_path / "anyone").stored(LESSON[2])


def test_a_notebooks_images_make_a_pack(tmp_path: Path) -> None:
    """The three ways a saved notebook shows images: a grid, an image, a repr."""
    import base64
    import json

    from klein_widget.ui._grid import render_grid

    made = teach(tmp_path / "klein-outputs")
    grid = render_grid([[made[0]]], title="a grid")
    cells = [
        {"cell_type": "code", "outputs": [{"data": {"text/html": grid}}]},
        {
            "cell_type": "code",
            "outputs": [{"data": {"image/png": base64.b64encode(made[1].image).decode()}}],
        },
        {"cell_type": "code", "outputs": [{"data": {"text/plain": repr(made[2])}}]},
    ]
    notebook = tmp_path / "lesson.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))
    teach(tmp_path / "klein-outputs", [GenerationRequest("not shown", seed=5, **SMALL)])

    manifest = make_pack(notebook, tmp_path / "lesson.zip", gallery=tmp_path / "klein-outputs")
    shown = {(i["prompt"], i["seed"]) for i in manifest["images"]}
    assert shown == {(r.prompt, r.seed) for r in LESSON}  # not the image it did not show


def test_use_emulator_with_packs_serves_them_over_loopback(tmp_path: Path) -> None:
    made = teach(tmp_path / "teacher")
    make_pack(tmp_path / "teacher", tmp_path / "lesson.zip")
    running = klein_widget.use_emulator(packs=[tmp_path / "lesson.zip"], quiet=True)
    klein_widget.session().configure(**fast_options())
    gen = klein_widget.session().client().generate(LESSON[2])
    assert running.emulator.count("POST", SUBMIT_PATH) == 1  # sent: the emulator answers
    assert not gen.from_gallery
    assert gen.image == made[2].image  # with the pack's image, not a drawn one
