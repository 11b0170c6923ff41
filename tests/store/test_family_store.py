"""The klein family in the gallery (issue 24): the index stores each request's model,
references, image URLs and LoRAs (an added JSON column), so an entry's request is the one
sent, a rebuilt index restores it from the files, and rows from before it read as 4B
text-to-image."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from klein_widget import Gallery, GenerationRequest, KleinClient
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
