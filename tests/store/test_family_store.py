"""The klein family in the gallery (issue 24): the index stores each request's model,
references, image URLs and LoRAs (an added JSON column), so an entry's request is the one
sent, a rebuilt index restores it from the files, rows from before it read as 4B
text-to-image, and `load_params` on a saved edit or LoRA image gives back its call."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from klein_widget import Gallery, GenerationRequest, KleinClient, load_params
from klein_widget.client._metadata import read_params
from klein_widget.client._params import request_from_params
from klein_widget.emulator import create_app
from tests.conftest import FAKE_KEY, TEST_URL, fast_options


@pytest.fixture
def made(tmp_path: Path) -> Iterator[tuple[KleinClient, Gallery]]:
    gallery = Gallery(tmp_path / "gallery")
    with (
        TestClient(create_app(inference_time=0.01), base_url=TEST_URL) as http,
        KleinClient(FAKE_KEY, TEST_URL, http_client=http, gallery=gallery, **fast_options()) as c,
    ):
        yield c, gallery


def test_every_family_request_round_trips_through_the_index(
    made: tuple[KleinClient, Gallery],
) -> None:
    client, gallery = made
    barn = client.generate("a red barn", width=320, height=256, seed=3, model="9b")
    url = f"{TEST_URL}/emulator/images/{barn.task_id}/0.png"
    made_here = [
        barn,
        client.generate("a fox", width=256, height=256, seed=4, loras=[("owner/ink", 0.5)]),
        client.edit("make it night", [url], seed=5),
        client.edit("make it pink", [url, url], model="9b", width=256, height=256, seed=6),
    ]
    for gen in made_here:
        entry = gallery.entry(gen.task_id)
        assert entry is not None
        assert entry.request == gen.request
        assert entry.recipe_key == gen.request.key
        assert entry.size == gen.size
        assert gallery.stored(gen.request) is not None
    assert gallery.entry(made_here[2].task_id).size == (320, 256)  # type: ignore[union-attr]

    # The files carry it too: an index rebuilt from them holds the same requests.
    shutil.move(gallery.index_path, gallery.path / "broken.sqlite3")
    rebuilt = Gallery(gallery.path)
    assert rebuilt.rebuild_index() == len(made_here)
    for gen in made_here:
        assert rebuilt.entry(gen.task_id).request == gen.request  # type: ignore[union-attr]


def test_rows_from_before_the_family_read_as_4b_text_to_image(
    made: tuple[KleinClient, Gallery],
) -> None:
    client, gallery = made
    gen = client.generate("a lighthouse", width=256, height=256, seed=7)
    with sqlite3.connect(gallery.index_path) as db:  # as an older version wrote it
        db.execute("ALTER TABLE images DROP COLUMN family")
        db.execute("UPDATE images SET recipe=NULL")
    old = Gallery(gallery.path)
    (entry,) = old.find()
    assert entry.request == GenerationRequest("a lighthouse", 256, 256, 7)
    assert entry.request.model == "4b"
    assert old.lookup(gen.request) is not None  # the same recipe: still a free re-run
    client.journal = old  # a new session on the old index: it migrates on its first write
    again = client.generate("a lighthouse", width=256, height=256, seed=7, model="9b")
    assert not again.from_gallery  # another model, another picture
    assert {e.request.model for e in old.find()} == {"4b", "9b"}


# load_params on the family: a saved edit's or LoRA image's file gives back the call that
# made it, read by the one rule in client/_params.py.


def test_a_saved_edit_gives_back_the_edit(made: tuple[KleinClient, Gallery]) -> None:
    client, _ = made
    barn = client.generate("a red barn", width=320, height=256, seed=3)
    url = f"{TEST_URL}/emulator/images/{barn.task_id}/0.png"
    night = client.edit("make it night", [url, barn.image], model="9b", seed=5)
    assert night.path is not None

    params = load_params(night.path)

    assert params == {
        "prompt": "make it night",
        "width": None,  # it kept the first image's size: no size is sent again
        "height": None,
        "seed": 5,
        "model": "9b",
        "images": list(night.request.images),
    }
    assert params["images"][0] == url
    assert params["images"][1].startswith(f"{TEST_URL}/")  # the upload's URL, not a local path
    stored = read_params(night.path.read_bytes())
    assert isinstance(stored, dict)
    assert request_from_params(stored) == night.request  # references included


def test_an_edit_from_its_file_is_made_again_free(made: tuple[KleinClient, Gallery]) -> None:
    client, _ = made
    barn = client.generate("a red barn", width=320, height=256, seed=3)
    url = f"{TEST_URL}/emulator/images/{barn.task_id}/0.png"
    pink = client.edit("make it pink", [url], width=256, height=256, seed=6)
    assert pink.path is not None

    params = load_params(pink.path)
    again = client.edit(**params)

    assert (params["width"], params["height"], params["model"]) == (256, 256, "4b")
    assert again.from_gallery
    assert again.request == pink.request
    assert again.image == pink.image


def test_a_lora_image_gives_back_its_loras(made: tuple[KleinClient, Gallery]) -> None:
    client, _ = made
    inked = client.generate("a fox", width=256, height=256, seed=4, loras=[("owner/ink", 0.5)])
    assert inked.path is not None

    params = load_params(inked.path)
    again = client.generate(**params)

    assert params["model"] == "4b-lora"
    assert params["loras"] == [("owner/ink", 0.5)]
    assert again.from_gallery
    assert again.request == inked.request
