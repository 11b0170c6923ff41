"""WaveSpeed's official SDK (``wavespeed`` 2.0.5), unchanged, on the whole family over
loopback: ``upload()`` of every kind of file it takes, then ``run()`` of each model, the
module-level functions included, with an emulator that wants the key (so the SDK's ticket
carries it and its PUT, which the emulator refuses with a key, does not)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import wavespeed
import wavespeed.api
from PIL import Image

from klein_widget.client._family import resolve_model
from klein_widget.emulator import RunningEmulator, start
from klein_widget.emulator._render import render_png

KEY = "wsk-sdk-family-0b7e"
PUT = "/emulator/uploads/*"
BARN = render_png("a red barn", 2, 640, 384)


@pytest.fixture(scope="module")
def keyed() -> Iterator[RunningEmulator]:
    """An emulator over loopback that wants ``KEY``."""
    with start(port=0, inference_time=0.02, api_key=KEY) as running:
        yield running


@pytest.fixture
def sdk(keyed: RunningEmulator) -> wavespeed.Client:
    keyed.emulator.reset()
    return wavespeed.Client(api_key=KEY, base_url=keyed.base_url, retry_interval=0.01)


def size_of(url: str) -> tuple[int, int]:
    size: tuple[int, int] = Image.open(io.BytesIO(httpx.get(url).content)).size
    return size


def run(sdk: wavespeed.Client, name: str, inputs: dict[str, Any], **options: Any) -> Any:
    return sdk.run(resolve_model(name).id, inputs, poll_interval=0.01, **options)


def test_upload_takes_a_path_a_named_stream_and_a_nameless_one(
    sdk: wavespeed.Client, keyed: RunningEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "barn.jpg"
    Image.open(io.BytesIO(BARN)).convert("RGB").save(path, format="JPEG")
    named = io.BytesIO(BARN)
    named.name = str(tmp_path / "nested" / "barn.png")  # the SDK sends the base name
    nameless = io.BytesIO(BARN)  # no name: the SDK sends "upload" and no content type
    urls = [sdk.upload(str(path)), sdk.upload(named), sdk.upload(nameless)]
    got = [httpx.get(url) for url in urls]
    assert [g.status_code for g in got] == [200, 200, 200]
    assert got[0].content == path.read_bytes()
    assert got[1].content == got[2].content == BARN
    assert [g.headers["content-type"] for g in got] == [
        "image/jpeg",
        "image/png",
        "application/octet-stream",
    ]
    assert urls[1].endswith("/barn.png")
    assert keyed.emulator.count("PUT", PUT, status=200) == 3  # none carried the key
    assert keyed.emulator.accepted == 0  # uploads are free


def test_each_model_runs_and_bills_its_price(sdk: wavespeed.Client, keyed: RunningEmulator) -> None:
    url = sdk.upload(io.BytesIO(BARN))
    base = {"prompt": "a lighthouse at dusk", "seed": 5}
    nine = run(sdk, "9b", {**base, "size": "512*384"})["outputs"][0]
    assert size_of(nine) == (512, 384)
    lora = run(sdk, "4b-lora", {**base, "loras": [{"path": "owner/style", "scale": 0.8}]})
    assert size_of(lora["outputs"][0]) == (1024, 1024)
    edit = run(sdk, "4b-edit", {**base, "images": [url]}, enable_sync_mode=True)
    assert size_of(edit["outputs"][0]) == (640, 384)  # the reference's size
    sized = run(sdk, "9b-edit", {**base, "images": [url, url], "size": "256*256"})
    assert size_of(sized["outputs"][0]) == (256, 256)
    families = [resolve_model(n) for n in ("9b", "4b-lora", "4b-edit", "9b-edit")]
    assert keyed.emulator.accepted == 4
    assert keyed.emulator.billed_mills == sum(m.reserve_mills for m in families)


def test_a_bad_edit_fails_in_the_sdk_before_billing(
    sdk: wavespeed.Client, keyed: RunningEmulator
) -> None:
    with pytest.raises(RuntimeError, match="HTTP 400"):
        run(sdk, "9b-edit", {"prompt": "make it night", "images": ["https://example.com/a.png"]})
    with pytest.raises(RuntimeError, match="HTTP 400"):
        run(sdk, "9b", {"prompt": "a fox", "images": [sdk.upload(io.BytesIO(BARN))]})
    assert keyed.emulator.accepted == 0


def test_an_upload_over_the_limit_is_refused_at_the_ticket(
    sdk: wavespeed.Client, keyed: RunningEmulator
) -> None:
    keyed.emulator.uploads.max_bytes = 1000
    try:
        with pytest.raises(RuntimeError, match="HTTP 413"):
            sdk.upload(io.BytesIO(BARN))
    finally:
        keyed.emulator.uploads.max_bytes = 32 << 20
    assert keyed.emulator.count("PUT", PUT) == 0


def test_the_module_level_upload_and_run(
    keyed: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    sdk_config: Callable[..., None],
    tmp_path: Path,
) -> None:
    """``wavespeed.upload`` / ``wavespeed.run`` with the SDK's configuration pointed at
    the emulator (it ignores WAVESPEED_BASE_URL; its config module is the way)."""
    keyed.emulator.reset()
    sdk_config(api_key=KEY, base_url=keyed.base_url)
    monkeypatch.setattr(wavespeed.api, "_default_client", None)  # made again from the config
    picture = tmp_path / "barn.png"
    picture.write_bytes(BARN)
    url = wavespeed.upload(str(picture))
    out = wavespeed.run(
        resolve_model("9b-edit").id, {"prompt": "make it blue", "images": [url]}, poll_interval=0.01
    )
    assert size_of(out["outputs"][0]) == (640, 384)
    assert keyed.emulator.accepted == 1


def test_the_history_lists_every_input(sdk: wavespeed.Client, keyed: RunningEmulator) -> None:
    url = sdk.upload(io.BytesIO(BARN))
    run(sdk, "9b-edit", {"prompt": "make it night", "images": [url], "seed": 9})
    loras = [{"path": "owner/style", "scale": 1.5}]
    run(sdk, "4b-lora", {"prompt": "a fox", "size": "512*512", "seed": 3, "loras": loras})
    answer = httpx.post(
        keyed.base_url + "/api/v3/predictions",
        json={"page_size": 10},
        headers={"Authorization": f"Bearer {KEY}"},
    ).json()["data"]["items"]
    lora, edit = answer  # newest first
    assert edit["model"] == resolve_model("9b-edit").id
    assert edit["input"] == {"prompt": "make it night", "size": "640*384", "seed": 9,
                             "images": [url]}  # fmt: skip
    assert lora["input"] == {"prompt": "a fox", "size": "512*512", "seed": 3, "loras": loras}
