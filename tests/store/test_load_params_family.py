"""`load_params` on the klein family (issue 24): a saved edit's or LoRA image's file gives
back the call that made it (model, images, LoRAs, sized or not), read by the one rule in
`client/_params.py`, so ``client.edit(**load_params(path))`` remakes an edit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from klein_widget import Gallery, KleinClient, load_params
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
