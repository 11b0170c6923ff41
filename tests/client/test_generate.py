"""Generating images end to end, sync and async, against the in-process emulator."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from klein_widget import Generation, InvalidRequestError, Prediction
from klein_widget.client._metadata import read_params
from klein_widget.emulator import Emulator
from tests.client.conftest import Both, MakeClient

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"


async def test_generate_returns_image_of_requested_size(klein: Both, emulator: Emulator) -> None:
    gen: Generation = await klein("generate", "a red fox", width=768, height=512, seed=42)

    assert gen.seed == 42
    assert gen.format == "png"
    assert Image.open(io.BytesIO(gen.image)).size == (768, 512)
    assert gen.prediction.status == "completed"
    assert gen.prediction.inference_ms == 20
    assert gen.prediction.model == "wavespeed-ai/flux-2-klein-4b/text-to-image"
    assert gen.cost == 0.008
    assert emulator.count("POST", SUBMIT) == 1
    assert klein.client.spend.images == 1
    assert klein.client.spend.dollars == 0.008


async def test_polling_sync_and_base64_give_identical_bytes(
    klein: Both, make_client: MakeClient, emulator: Emulator
) -> None:
    same = {"width": 512, "height": 512, "seed": 7, "fresh": True}  # ask the server each time
    by_url = make_client(inline_images=False)
    polled = await by_url("generate", "a lighthouse", **same)
    synced = await by_url("generate", "a lighthouse", sync_mode=True, **same)
    asked = await klein("generate", "a lighthouse", base64_output=True, **same)
    mark = len(emulator.requests)
    default = await klein("generate", "a lighthouse", **same)

    assert polled.image == synced.image == asked.image == default.image
    assert polled.prediction.outputs[0].startswith("http://testserver/")
    assert synced.prediction.outputs[0].startswith("http://testserver/")
    assert not asked.prediction.outputs[0].startswith("http")  # asked for: kept
    # By default the image comes inline in the poll that says "completed": no download,
    # and the base64 text is not kept beside the bytes.
    paths = [r.path for r in emulator.requests[mark:]]
    assert not any(path.startswith("/emulator/images/") for path in paths)
    assert default.prediction.outputs == ()


async def test_the_inline_choice_stays_off_the_request(klein: Both, emulator: Emulator) -> None:
    gen = await klein("generate", "a heron", width=256, height=256, seed=3)

    assert gen.request.base64_output is False  # snippets and the gallery see what was asked
    assert klein.client._submit_body(gen.request)["enable_base64_output"] is True
    assert emulator.tasks[gen.task_id].request.base64_output is True


async def test_sync_mode_sends_one_request_and_no_polls(klein: Both, emulator: Emulator) -> None:
    await klein("generate", "a lighthouse", width=256, height=256, seed=1, sync_mode=True)

    assert emulator.count("POST", SUBMIT) == 1
    assert emulator.count("GET", "/api/v3/predictions/*") == 0


async def test_random_seed_is_drawn_client_side_and_sent(klein: Both, emulator: Emulator) -> None:
    first = await klein("generate", "a fox", width=256, height=256)
    second = await klein("generate", "a fox", width=256, height=256, seed=-1)

    assert 0 <= first.seed <= 2_147_483_647
    assert first.seed != second.seed
    again = await klein("generate", "a fox", width=256, height=256, seed=first.seed)
    assert again.image == first.image


async def test_prompt_is_stripped_before_sending(klein: Both) -> None:
    gen = await klein("generate", "   a red fox \n", width=256, height=256, seed=3)
    assert gen.prompt == "a red fox"


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"width": 255}, "width", "from 256 to 1536"),
        ({"width": 1537}, "width", "from 256 to 1536"),
        ({"height": 100}, "height", "from 256 to 1536"),
        ({"width": 1024.0}, "width", "whole number"),
        ({"height": True}, "height", "whole number"),
        ({"seed": -2}, "seed", "-1 means random"),
        ({"seed": 2_147_483_648}, "seed", "-1 means random"),
        ({"seed": 4.5}, "seed", "whole number"),
        ({"sync_mode": "yes"}, "sync_mode", "True or False"),
    ],
)
async def test_invalid_input_raises_before_sending(
    klein: Both, emulator: Emulator, kwargs: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(InvalidRequestError, match=words) as caught:
        await klein("generate", "a fox", **kwargs)

    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert emulator.requests == []
    assert klein.client.spend.images == 0


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
async def test_empty_prompt_is_refused(klein: Both, emulator: Emulator, prompt: str) -> None:
    with pytest.raises(InvalidRequestError, match="prompt is empty"):
        await klein("generate", prompt)
    assert emulator.requests == []


async def test_submit_then_wait_then_fetch(klein: Both, emulator: Emulator) -> None:
    submitted: Prediction = await klein("submit", "a fox", width=256, height=256, seed=5)
    assert submitted.status in ("created", "processing")
    assert submitted.id

    done: Prediction = await klein("wait", submitted.id, timeout=10)
    assert done.status == "completed"
    assert done.outputs

    gen: Generation = await klein("fetch", submitted.id)
    assert gen.seed == 5
    assert gen.size == (256, 256)
    assert emulator.count("POST", SUBMIT) == 1


async def test_get_result_is_one_request(klein: Both, emulator: Emulator) -> None:
    submitted = await klein("submit", "a fox", width=256, height=256, seed=5)
    before = len(emulator.requests)

    state: Prediction = await klein("get_result", submitted.id)

    assert state.id == submitted.id
    assert len(emulator.requests) == before + 1


async def test_progress_reports_every_stage_in_order(klein: Both) -> None:
    stages: list[str] = []
    await klein(
        "generate",
        "a fox",
        width=256,
        height=256,
        seed=9,
        on_progress=lambda p: stages.append(p.stage),
    )
    assert stages[:2] == ["submitting", "submitted"]
    assert stages[-2:] == ["downloading", "done"]
    assert set(stages[2:-2]) <= {"queued", "processing"}


async def test_enhance_prompt_returns_richer_text(klein: Both, emulator: Emulator) -> None:
    text: str = await klein("enhance_prompt", "a fox")

    assert "fox" in text.lower()
    assert len(text) > len("a fox") * 3
    assert emulator.count("POST", "/api/v3/wavespeed-ai/prompt-optimizer") == 1
    assert klein.client.spend.enhancements == 1
    assert klein.client.spend.dollars == 0.001


async def test_nsfw_flag_is_reported(klein: Both, emulator: Emulator) -> None:
    emulator.script("task", "nsfw")
    gen = await klein("generate", "a fox", width=256, height=256, seed=1)
    assert gen.nsfw is True
    assert gen.prediction.has_nsfw_contents == (True,)


async def test_saved_image_carries_its_parameters(klein: Both, tmp_path: object) -> None:
    from pathlib import Path

    gen = await klein("generate", "a red fox", width=512, height=256, seed=11)
    path = gen.save(Path(str(tmp_path)) / "fox")

    assert path.suffix == ".png"
    params = read_params(path)
    assert params is not None
    assert params["prompt"] == "a red fox"
    assert (params["width"], params["height"], params["seed"]) == (512, 256, 11)
    assert params["task_id"] == gen.task_id
    assert params["model"] == "wavespeed-ai/flux-2-klein-4b/text-to-image"
    assert params["inference_ms"] == 20
    assert params["cost"] == 0.008
    with Image.open(path) as saved:
        assert saved.size == (512, 256)
        assert saved.tobytes() == gen.to_pil().tobytes()  # lossless: same pixels


async def test_saving_as_jpeg_converts_and_keeps_parameters(klein: Both, tmp_path: object) -> None:
    from pathlib import Path

    gen = await klein("generate", "a red fox", width=256, height=256, seed=12)
    path = gen.save(Path(str(tmp_path)) / "fox.jpg")

    assert path.read_bytes()[:2] == b"\xff\xd8"
    params = read_params(path)
    assert params is not None
    assert params["seed"] == 12


async def test_generation_shows_itself_as_png(klein: Both) -> None:
    gen = await klein("generate", "a fox", width=256, height=256, seed=2)
    assert gen._repr_png_() == gen.image
    assert gen._repr_jpeg_() is None
    assert "seed=2" in repr(gen)
    assert "256x256" in repr(gen)
