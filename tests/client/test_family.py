"""The klein family through the client (issue 24): ``model=``, ``loras=`` and ``edit()``,
sync and async alike, against the in-process emulator: each goes to its model's path,
sends only what applies, is priced by its model, and refuses bad input before sending."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from PIL import Image

from klein_widget import GenerationRequest, InvalidRequestError
from klein_widget.client._family import resolve_model
from klein_widget.client._family_inputs import url_sha256
from klein_widget.emulator import Emulator
from klein_widget.ui._text import done_text
from tests.client.conftest import Both
from tests.conftest import TEST_URL

SMALL = {"width": 256, "height": 256}
T2I_4B = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
T2I_9B = "/api/v3/wavespeed-ai/flux-2-klein-9b/text-to-image"
LORA_4B = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image-lora"
EDIT_4B = "/api/v3/wavespeed-ai/flux-2-klein-4b/edit"
EDIT_9B = "/api/v3/wavespeed-ai/flux-2-klein-9b/edit"


def size_of(image: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(image)) as picture:
        return picture.size


async def made_url(klein: Both, **options: Any) -> str:
    """The URL of an image the emulator served (an edit's reference, no upload needed)."""
    first = await klein("generate", "a red barn", seed=3, **{**SMALL, **options})
    return f"{TEST_URL}/emulator/images/{first.task_id}/0.png"


async def test_model_9b_goes_to_its_path_at_its_price(klein: Both, emulator: Emulator) -> None:
    gen = await klein("generate", "a fox", model="9b", seed=7, **SMALL)

    assert emulator.count("POST", T2I_9B) == 1
    assert emulator.count("POST", T2I_4B) == 0
    assert gen.model == "9b"
    assert emulator.tasks[gen.task_id].model == resolve_model("9b").id
    # 9B's price is unconfirmed: the family's highest is reserved, and the spend line says so.
    assert gen.cost == 0.016
    assert not gen.price_confirmed
    assert str(klein.client.spend) == "1 image, $0.016 simulated, price unconfirmed"
    assert done_text(gen, base_url=TEST_URL).endswith("$0.016 simulated, price unconfirmed")
    assert gen.params()["model"] == resolve_model("9b").id


async def test_a_full_wavespeed_id_is_a_model_name(klein: Both, emulator: Emulator) -> None:
    gen = await klein("generate", "a fox", model=resolve_model("9b").id, seed=7, **SMALL)
    assert gen.model == "9b"
    assert emulator.count("POST", T2I_9B) == 1


async def test_loras_switch_4b_to_its_lora_endpoint(klein: Both, emulator: Emulator) -> None:
    loras = ["owner/ink-style", ("https://example.com/watercolor.safetensors", 0.6)]
    gen = await klein("generate", "a fox", loras=loras, seed=7, **SMALL)

    assert emulator.count("POST", LORA_4B) == 1
    assert gen.model == "4b-lora"
    assert emulator.tasks[gen.task_id].loras == (
        ("owner/ink-style", 1.0),
        ("https://example.com/watercolor.safetensors", 0.6),
    )
    assert gen.loras == emulator.tasks[gen.task_id].loras
    assert gen.params()["loras"] == [list(pair) for pair in gen.loras]


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"model": "12b"}, "model", "'4b', '9b'"),
        ({"model": "9b", "loras": ["owner/style"]}, "loras", "model='4b-lora'"),
        ({"loras": [("owner/style", 2.5)]}, "loras", "from 0 to 2"),
        ({"loras": ["a/b", "c/d", "e/f", "g/h"]}, "loras", "at most 3"),
        ({"loras": "owner/style"}, "loras", "a list"),
    ],
)
async def test_bad_models_and_loras_are_refused_before_sending(
    klein: Both, emulator: Emulator, options: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await klein("generate", "a fox", seed=7, **SMALL, **options)

    assert caught.value.field == field
    assert words in caught.value.message
    assert emulator.count("POST") == 0


async def test_submit_takes_model_and_loras(klein: Both, emulator: Emulator) -> None:
    pred = await klein("submit", "a fox", model="9b", seed=7, **SMALL)
    await klein("submit", "a fox", loras=[("owner/style", 0.5)], seed=7, **SMALL)

    assert emulator.tasks[pred.id].model == resolve_model("9b").id
    assert emulator.count("POST", T2I_9B) == 1
    assert emulator.count("POST", LORA_4B) == 1


async def test_edit_with_a_url_keeps_the_references_size(klein: Both, emulator: Emulator) -> None:
    url = await made_url(klein, width=384, height=256)
    gen = await klein("edit", "make it night", [url], seed=7)

    assert emulator.count("POST", EDIT_4B) == 1
    task = emulator.tasks[gen.task_id]
    assert len(task.references) == 1
    assert size_of(gen.image) == (384, 256)  # no size sent: the reference's
    assert gen.request.width is None
    assert gen.size == (384, 256)
    assert gen.images == (url,)
    assert gen.model == "4b-edit"
    assert gen.cost == 0.016
    assert not gen.price_confirmed


async def test_edit_on_9b_with_a_size(klein: Both, emulator: Emulator) -> None:
    url = await made_url(klein)
    gen = await klein("edit", "make it night", [url, url], model="9b", width=512, height=512)

    assert emulator.count("POST", EDIT_9B) == 1
    assert len(emulator.tasks[gen.task_id].references) == 2
    assert size_of(gen.image) == (512, 512)
    assert gen.cost == 0.016
    assert gen.price_confirmed


async def test_a_fixed_seed_edit_rerun_is_free(klein: Both, emulator: Emulator) -> None:
    url = await made_url(klein)
    first = await klein("edit", "make it night", [url], seed=7)
    again = await klein("edit", "make it night", [url], seed=7)
    other = await klein("edit", "make it snowy", [url], seed=7)

    assert again.from_gallery
    assert again.task_id == first.task_id
    assert again.request == first.request
    assert not other.from_gallery
    assert emulator.count("POST", EDIT_4B) == 2


@pytest.mark.parametrize(
    ("images", "options", "field"),
    [
        ([], {}, "images"),
        (["https://example.com/a.png"] * 5, {}, "images"),
        ([42], {}, "images"),
        (["https://example.com/a.png"], {"model": "4b-lora"}, "model"),
        (["https://example.com/a.png"], {"width": 512}, "height"),
        (["https://example.com/a.png"], {"width": 100, "height": 100}, "width"),
    ],
)
async def test_bad_edits_are_refused_before_anything_is_sent(
    klein: Both, emulator: Emulator, images: list[Any], options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await klein("edit", "make it night", images, **options)

    assert caught.value.field == field
    assert emulator.count() == 0


async def test_edit_requests_round_trip_through_the_gallery(klein: Both) -> None:
    url = await made_url(klein)
    gen = await klein("edit", "make it night", [url], seed=7)
    # The gallery's entry holds the edit's request exactly, so it makes the same image.
    from klein_widget import history

    entry = next(e for e in history() if e.task_id == gen.task_id)
    assert entry.request == gen.request
    assert entry.request.key == gen.request.key
    assert entry.size == (256, 256)
    assert entry.params() == {
        "prompt": "make it night",
        "width": None,
        "height": None,
        "seed": 7,
        "model": "4b",
        "images": [url],
    }
    again = await klein("generate", entry.request)
    assert again.from_gallery
    assert again.task_id == gen.task_id
    redone = await klein("edit", **entry.params())
    assert redone.from_gallery
    assert redone.task_id == gen.task_id


async def test_edit_many_sends_each_edit_once_and_reruns_free(
    klein: Both, emulator: Emulator
) -> None:
    url = await made_url(klein)
    prompts = ["make it night", "make it snowy", "make it night"]  # one repeated
    result = await klein("edit_many", prompts, images=[url], seed=7, progress=False)

    assert [item.ok for item in result] == [True, True, True]
    assert emulator.count("POST", EDIT_4B) == 2  # the repeat is the same image: sent once
    assert result[0].generation.task_id == result[2].generation.task_id
    assert {g.model for g in result.generations} == {"4b-edit"}
    assert klein.client.spend.images == 3  # the first barn, then two edits

    again = await klein("edit_many", prompts, images=[url], seed=7, progress=False)
    assert again.skipped == 3
    assert emulator.count("POST", EDIT_4B) == 2


async def test_edit_many_takes_pairs_and_requests(klein: Both, emulator: Emulator) -> None:
    url = await made_url(klein)
    done = await klein("edit", "make it night", [url], seed=7)
    items = [("make it pink", [url, url]), done.request]
    result = await klein("edit_many", items, model="9b", width=256, height=256, progress=False)

    assert [item.ok for item in result] == [True, True]
    assert emulator.count("POST", EDIT_9B) == 1  # the pair, on 9B
    assert result[1].skipped  # the request the gallery holds
    assert len(emulator.tasks[result[0].generation.task_id].references) == 2


async def test_generate_many_takes_edit_requests(klein: Both, emulator: Emulator) -> None:
    url = await made_url(klein)
    done = await klein("edit", "make it night", [url], seed=7)
    request = dataclasses.replace(done.request, prompt="make it snowy")
    result = await klein("generate_many", [request, "a heron"], seed=7, progress=False, **SMALL)

    assert [item.ok for item in result] == [True, True]
    assert emulator.count("POST", EDIT_4B) == 2
    assert result[0].generation.request == request


@pytest.mark.parametrize(
    ("items", "options", "words"),
    [
        (["make it night"], {}, "batch item 0: no images"),
        (["night", ("x", ["https://e.x/a.png"] * 5)], {"images": "https://e.x/a.png"}, "item 1"),
        ("make it night", {"images": ["https://e.x/a.png"]}, "a list of prompts"),
    ],
)
async def test_bad_edit_batches_send_nothing(
    klein: Both, emulator: Emulator, items: Any, options: dict[str, Any], words: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await klein("edit_many", items, progress=False, **options)

    assert words in caught.value.message
    assert emulator.count() == 0


def test_a_request_sends_only_what_its_model_takes() -> None:
    url = "https://example.com/cat.png"
    edit = GenerationRequest("make it night", None, None, 7, model="9b-edit", images=(url,))
    body = edit.to_json()
    assert "size" not in body
    assert "loras" not in body
    assert body["images"] == [url]
    assert edit.references == (url_sha256(url),)
    assert GenerationRequest.from_json(body, "9b-edit") == edit

    lora = GenerationRequest("a fox", 512, 512, 7, model="4b-lora", loras=(("owner/ink", 0.5),))
    assert lora.to_json()["loras"] == [{"path": "owner/ink", "scale": 0.5}]
    assert "images" not in lora.to_json()
    assert GenerationRequest.from_json(lora.to_json()) == lora  # loras: the LoRA endpoint
    plain = GenerationRequest("a fox", 512, 512, 7)
    assert set(plain.to_json()) == {
        "prompt",
        "size",
        "seed",
        "enable_sync_mode",
        "enable_base64_output",
    }
    # The recipe names everything that decides the picture.
    keys = {r.key for r in (plain, lora, dataclasses.replace(plain, model="9b"))}
    assert len(keys) == 3
    assert edit.recipe().model == "wavespeed-ai/flux-2-klein-9b/edit"
    assert lora.recipe().loras == (("owner/ink", 0.5),)
