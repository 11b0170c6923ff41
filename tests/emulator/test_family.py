"""The emulator serves the whole klein family: each model's path, inputs, price and the
edit stand-in that visibly derives from its reference."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image, ImageStat

from klein_widget.client._family import MODELS, resolve_model
from klein_widget.client._models import ENHANCER_MODEL_ID
from klein_widget.emulator import Emulator
from klein_widget.emulator._render import render_png

from .conftest import body, wait_done

EDIT = resolve_model("9b-edit").path
LORA = resolve_model("4b-lora").path


async def put_file(http: httpx.AsyncClient, bare: httpx.AsyncClient, data: bytes) -> str:
    ticket = (
        await http.post(
            "/api/v3/media/uploads",
            json={"filename": "ref.png", "size": len(data), "content_type": "image/png"},
        )
    ).json()["data"]
    answer = await bare.put(
        ticket["upload"]["url"], content=data, headers=ticket["upload"]["headers"]
    )
    assert answer.status_code == 200, answer.text
    url: str = ticket["download_url"]
    return url


async def sync_image(
    http: httpx.AsyncClient, path: str, **fields: Any
) -> tuple[dict[str, Any], Image.Image]:
    r = await http.post(
        path, json={"seed": 5, "enable_sync_mode": True, "enable_base64_output": True, **fields}
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    assert data["status"] == "completed", data
    png = base64.b64decode(data["outputs"][0])
    return data, Image.open(io.BytesIO(png)).convert("RGB")


def edit_body(urls: list[str], prompt: str = "make it purple", **fields: Any) -> dict[str, Any]:
    return {"prompt": prompt, "images": urls, **fields}


async def test_every_model_is_served_at_its_path_and_bills_its_price(
    http: httpx.AsyncClient, bare: httpx.AsyncClient, emu: Emulator
) -> None:
    ref = await put_file(http, bare, render_png("green hills", 1, 320, 256))
    billed = 0
    for model in MODELS:
        extra: dict[str, Any] = {"images": [ref]} if model.takes_images else {}
        if model.takes_loras:
            extra["loras"] = [{"path": "someone/watercolour-lora", "scale": 0.8}]
        r = await http.post(model.path, json=body(**extra))
        assert r.status_code == 200, (model.name, r.text)
        data = await wait_done(http, r.json()["data"]["id"])
        assert data["status"] == "completed"
        assert data["model"] == model.id
        assert data["simulated"] is True
        # An unconfirmed price bills the family's highest known, as budgets reserve.
        assert data["price_mills"] == model.reserve_mills
        billed += model.reserve_mills
    assert emu.accepted == len(MODELS)
    assert emu.billed_mills == billed == 8 + 16 + 16 + 16 + 16


async def test_the_index_and_a_404_name_every_model(http: httpx.AsyncClient) -> None:
    served = (await http.get("/")).json()["models"]
    assert served == [*(m.id for m in MODELS), ENHANCER_MODEL_ID]
    r = await http.post("/api/v3/wavespeed-ai/flux-2-klein-12b/edit", json=body())
    assert r.status_code == 404
    assert all(m.id in r.json()["message"] for m in MODELS)


async def test_an_edit_without_size_keeps_the_first_references_size(
    http: httpx.AsyncClient, bare: httpx.AsyncClient
) -> None:
    first = await put_file(http, bare, render_png("a red barn", 2, 640, 384))
    second = await put_file(http, bare, render_png("a blue sea", 3, 512, 512))
    _data, image = await sync_image(http, EDIT, **edit_body([first, second]))
    assert image.size == (640, 384)
    _, sized = await sync_image(http, EDIT, **edit_body([first], size="512*512"))
    assert sized.size == (512, 512)
    # Larger than the model makes: brought into its range, the aspect kept.
    big = await put_file(http, bare, render_png("a wide plain", 4, 2048, 1024))
    _, fitted = await sync_image(http, EDIT, **edit_body([big]))
    assert fitted.size == (1536, 768)


async def test_the_edit_stand_in_derives_from_the_reference(
    http: httpx.AsyncClient, bare: httpx.AsyncClient
) -> None:
    hills = render_png("green hills at noon", 3, 384, 256)
    ref = await put_file(http, bare, hills)
    _, purple = await sync_image(http, EDIT, **edit_body([ref], "make it purple"))
    red, green, blue = ImageStat.Stat(purple).mean
    assert red > green
    assert blue > green
    g_red, g_green, _ = ImageStat.Stat(Image.open(io.BytesIO(hills)).convert("RGB")).mean
    assert g_green > g_red
    # The layout is the reference's: its brightness map correlates with the edit's.
    gray_ref = Image.open(io.BytesIO(hills)).convert("L").resize((48, 32))
    gray_out = purple.convert("L").resize((48, 32))
    assert _correlation(list(gray_ref.tobytes()), list(gray_out.tobytes())) > 0.6
    # Deterministic in (prompt, seed, references); a new seed or reference changes it.
    _, again = await sync_image(http, EDIT, **edit_body([ref], "make it purple"))
    assert again.tobytes() == purple.tobytes()
    _, reseeded = await sync_image(http, EDIT, **edit_body([ref], "make it purple", seed=6))
    assert reseeded.tobytes() != purple.tobytes()
    other = await put_file(http, bare, render_png("a city by the sea", 9, 384, 256))
    _, rereferenced = await sync_image(http, EDIT, **edit_body([other], "make it purple"))
    assert rereferenced.tobytes() != purple.tobytes()


def _correlation(a: list[int], b: list[int]) -> float:
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va = sum((x - ma) ** 2 for x in a) ** 0.5
    vb = sum((y - mb) ** 2 for y in b) ** 0.5
    return cov / (va * vb)


async def test_an_edit_may_name_an_output_of_this_emulator(http: httpx.AsyncClient) -> None:
    made = (await http.post(resolve_model("4b").path, json=body(enable_sync_mode=True))).json()
    url = made["data"]["outputs"][0]
    _, image = await sync_image(http, EDIT, **edit_body([url]))
    assert image.size == (320, 256)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({}, "images is required"),
        ({"images": []}, "images is required"),
        ({"images": "http://testserver/x.png"}, "images is required"),
        ({"images": ["http://testserver/emulator/files/x/a.png"] * 5}, "1 to 4"),
        ({"images": [42]}, "images[0] must be an http(s) URL"),
        ({"images": ["file:///etc/passwd"]}, "images[0] must be an http(s) URL"),
        ({"images": ["https://example.com/cat.png"]}, "never goes to the network"),
        ({"images": ["http://testserver/emulator/files/nope/a.png"]}, "no upload or output"),
        ({"images": ["http://127.0.0.1:9/a.png"]}, "could not fetch"),
    ],
)
async def test_a_bad_edit_is_refused_before_it_is_billed(
    http: httpx.AsyncClient, emu: Emulator, fields: dict[str, Any], says: str
) -> None:
    r = await http.post(EDIT, json={"prompt": "make it night", **fields})
    assert r.status_code == 400
    assert says in r.json()["message"]
    assert emu.accepted == 0
    assert emu.billed_mills == 0


async def test_an_unreadable_reference_is_refused(
    http: httpx.AsyncClient, bare: httpx.AsyncClient, emu: Emulator
) -> None:
    good = await put_file(http, bare, render_png("hills", 1, 256, 256))
    junk = await put_file(http, bare, b"not a picture at all")
    r = await http.post(EDIT, json=edit_body([good, junk]))
    assert r.status_code == 400
    assert r.json()["message"].startswith("images[1]: it is not an image")
    assert emu.accepted == 0


@pytest.mark.parametrize(
    ("loras", "says"),
    [
        ("someone/lora", "loras must be a list"),
        ([{"path": f"a/{i}"} for i in range(4)], "at most 3"),
        ([{"scale": 1}], "loras[0].path is required"),
        ([{"path": "a/b", "scale": 3}], "loras[0].scale must be a number from 0 to 2"),
        ([{"path": "a/b", "scale": True}], "loras[0].scale"),
        ([{"path": "a/b", "weight": 1}], "loras[0] must be"),
    ],
)
async def test_bad_loras_are_refused(http: httpx.AsyncClient, loras: object, says: str) -> None:
    r = await http.post(LORA, json=body(loras=loras))
    assert r.status_code == 400
    assert says in r.json()["message"]


async def test_loras_are_kept_with_the_task(http: httpx.AsyncClient, emu: Emulator) -> None:
    loras = [{"path": "https://example.com/a.safetensors", "scale": 0.5}, {"path": "b/c"}]
    r = await http.post(LORA, json=body(loras=loras))
    task = emu.get(r.json()["data"]["id"])
    assert task is not None
    assert task.loras == (("https://example.com/a.safetensors", 0.5), ("b/c", 1.0))


@pytest.mark.parametrize(
    ("path", "field"), [("4b", "loras"), ("9b", "images"), ("4b-lora", "images")]
)
async def test_a_model_refuses_what_it_does_not_take(
    http: httpx.AsyncClient, path: str, field: str
) -> None:
    r = await http.post(resolve_model(path).path, json=body(**{field: []}))
    assert r.status_code == 400
    taker = LORA if field == "loras" else EDIT
    assert taker.removeprefix("/api/v3/") in r.json()["message"]


async def test_the_price_endpoint_answers_each_models_price(http: httpx.AsyncClient) -> None:
    for model in MODELS:
        r = await http.post("/api/v3/model/price", json={"model_id": model.id, "inputs": body()})
        assert r.status_code == 200
        data = r.json()["data"]
        assert data["model_id"] == model.id
        assert data["price_mills"] == model.reserve_mills
        assert data["unit_price"] == model.reserve_mills / 1000
        assert data["simulated"] is True
        assert data["price_source"].startswith(model.price_source)
    assert (await http.post("/api/v3/model/price", json={"model_id": "x"})).status_code == 404
    bad = await http.post("/api/v3/model/price", json={"model_id": MODELS[0].id, "inputs": 1})
    assert bad.status_code == 400


async def test_a_lora_stand_in_says_it_was_asked_for_loras(http: httpx.AsyncClient) -> None:
    fields: dict[str, Any] = {"prompt": "a red fox", "size": "320*256"}
    _, plain = await sync_image(http, resolve_model("4b").path, **fields)
    loras = [{"path": "a/b"}, {"path": "c/d", "scale": 0.5}]
    data, with_loras = await sync_image(http, LORA, loras=loras, **fields)
    assert data["price_mills"] == 16
    # The same scene (prompt and seed); only the stamp in the bottom-left corner differs.
    top = (0, 0, 320, 180)
    assert plain.crop(top).tobytes() == with_loras.crop(top).tobytes()
    assert plain.tobytes() != with_loras.tobytes()


async def test_the_history_lists_every_input_of_a_task(
    http: httpx.AsyncClient, bare: httpx.AsyncClient
) -> None:
    ref = await put_file(http, bare, render_png("green hills", 1, 320, 256))
    lora = {"path": "someone/watercolour-lora", "scale": 0.8}
    await http.post(EDIT, json=edit_body([ref, ref], seed=3))
    await http.post(LORA, json=body(seed=4, loras=[lora]))
    await http.post(resolve_model("4b").path, json=body(seed=5))

    items = (await http.post("/api/v3/predictions", json={})).json()["data"]["items"]

    plain, with_lora, edit = items  # newest first
    assert edit["model"] == resolve_model("9b-edit").id
    assert edit["input"]["images"] == [ref, ref]  # the URLs as sent, in order
    assert edit["input"]["size"] == "320*256"  # no size given: the first reference's
    assert edit["input"]["seed"] == 3
    assert "loras" not in edit["input"]
    assert with_lora["model"] == resolve_model("4b-lora").id
    assert with_lora["input"]["loras"] == [lora]
    assert "images" not in with_lora["input"]
    assert set(plain["input"]) == {"prompt", "size", "seed"}
