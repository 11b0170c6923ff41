"""The emulator with a lesson pack: the requests it holds get the pack's real image, for the
official ``wavespeed`` SDK, a raw HTTP client and ``klein emulator --pack`` alike."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import wavespeed

from klein_widget import Generation
from klein_widget.client._models import MODEL_ID
from klein_widget.emulator import create_app, start
from klein_widget.store import make_pack
from tests.store.packs import LESSON, teach

from .conftest import AUTH, SUBMIT, wait_done


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Generation]]:
    """A pack made by a teacher, and the images the teacher was served."""
    where = tmp_path_factory.mktemp("lesson")
    made = teach(where / "teacher")
    make_pack(where / "teacher", where / "lesson.zip")
    return where / "lesson.zip", made


def _input(index: int, **extra: object) -> dict[str, object]:
    r = LESSON[index]
    return {"prompt": r.prompt, "size": f"{r.width}*{r.height}", "seed": r.seed, **extra}


def test_the_official_sdk_gets_the_packs_images(lesson: tuple[Path, list[Generation]]) -> None:
    pack, made = lesson
    with start(port=0, inference_time=0.01, packs=[pack]) as live:
        client = wavespeed.Client(api_key="any", base_url=live.base_url, retry_interval=0.01)
        polled = client.run(MODEL_ID, _input(0), poll_interval=0.01)["outputs"][0]
        synced = client.run(MODEL_ID, _input(2), enable_sync_mode=True)["outputs"][0]
        inline = client.run(MODEL_ID, _input(1, enable_base64_output=True), enable_sync_mode=True)[
            "outputs"
        ][0]
        other = client.run(MODEL_ID, {**_input(0), "seed": 4}, poll_interval=0.01)["outputs"][0]
        assert httpx.get(polled).content == made[0].image
        assert httpx.get(synced).content == made[2].image
        assert base64.b64decode(inline) == made[1].image
        drawn = httpx.get(other).content  # not in the pack: the emulator's stand-in
        assert drawn.startswith(b"\x89PNG")
        assert drawn not in {g.image for g in made}


async def test_a_raw_http_client_gets_the_packs_image(
    lesson: tuple[Path, list[Generation]],
) -> None:
    pack, made = lesson
    app = create_app(inference_time=0.01, packs=[pack])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=AUTH
    ) as http:
        about = (await http.get("/")).json()
        task = (await http.post(SUBMIT, json=_input(2))).json()["data"]
        data = await wait_done(http, task["id"])
        image = await http.get(data["outputs"][0])
        random = (await http.post(SUBMIT, json={**_input(2), "seed": -1})).json()["data"]
        drawn = await http.get((await wait_done(http, random["id"]))["outputs"][0])
    assert about["lesson_packs"] == ["lesson.zip"]
    assert image.content == made[2].image
    assert image.headers["content-type"] == "image/png"
    assert drawn.content != made[2].image  # a random seed never comes from a pack


def test_klein_emulator_pack_serves_curl(lesson: tuple[Path, list[Generation]]) -> None:
    pack, made = lesson
    proc = subprocess.Popen(
        [sys.executable, "-m", "klein_widget", "emulator", "--port", "0", "--pack", str(pack)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(7)]
        [export] = [line for line in lines if line.startswith("export WAVESPEED_BASE_URL=")]
        assert f"Serving the 3 real images of the lesson pack {pack}." in lines
        url = export.split("=", 1)[1]
        with httpx.Client(base_url=url, headers=AUTH) as http:
            answer = http.post(SUBMIT, json=_input(0, enable_sync_mode=True)).json()["data"]
            image = http.get(answer["outputs"][0]).content
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert image == made[0].image
    assert proc.returncode == 0, err


def test_klein_emulator_refuses_a_bad_pack(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    done = subprocess.run(
        [sys.executable, "-m", "klein_widget.emulator", "--pack", str(tmp_path / "bad.zip")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "is refused: it is not a readable zip file" in done.stderr
