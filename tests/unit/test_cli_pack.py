"""`klein pack make` and `klein pack show` as a teacher runs them: a real process."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.testclient import TestClient

from klein_widget import Gallery, KleinClient
from klein_widget.client._metadata import strip_params
from klein_widget.emulator import RunningEmulator, create_app
from tests.conftest import FAKE_KEY
from tests.store.packs import LESSON, teach
from tests.unit.test_cli import run

REAL_URL = "http://real.test"  # served in-process: answers as a real service does


def test_make_then_show_a_pack_from_a_gallery(tmp_path: Path) -> None:
    teach(tmp_path / "gallery")
    env = dict(os.environ)
    made = run(["pack", "make", str(tmp_path / "gallery"), "-o", "lesson.zip"], env, tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "lesson.zip: 3 images (klein-widget lesson pack, version 1)"

    shown = run(["pack", "show", "lesson.zip"], env, tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert (
        lines[0] == "lesson.zip: 3 images, every one checked, 3 of them emulator stand-ins "
        "(or unknown) (klein-widget lesson pack, version 1)"
    )
    listed = sorted((r.prompt, f"{r.width}x{r.height}", r.seed) for r in LESSON)
    for line, (prompt, size, seed) in zip(lines[1:], listed, strict=True):
        assert line.split() == [size, "seed", str(seed), "stand-in", "-", *prompt.split()]


def test_a_bad_pack_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK not really")
    shown = run(["pack", "show", "bad.zip"], dict(os.environ), tmp_path)
    assert shown.returncode == 1
    assert shown.stderr.startswith(f"error: The lesson pack {tmp_path / 'bad.zip'} is refused: ")
    assert "klein pack make" in shown.stderr
    assert "Traceback" not in shown.stderr


def test_make_from_neither_a_notebook_nor_a_gallery(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    made = run(["pack", "make", "notes.txt", "-o", "p.zip"], dict(os.environ), tmp_path)
    assert made.returncode == 1
    assert "is neither a notebook (.ipynb) nor a gallery folder" in made.stderr
    assert not (tmp_path / "p.zip").exists()


def test_klein_generate_answers_from_klein_packs(
    tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    # The teacher's pack of real images (a server that answers as a real one): a pack of
    # stand-ins answers only a server that has said it simulates, and one command's client
    # has heard nothing before its only request.
    app = create_app(inference_time=0.01, simulated=False)
    with (
        TestClient(app, base_url=REAL_URL) as http,
        KleinClient(
            FAKE_KEY, REAL_URL, http_client=http, gallery=Gallery(tmp_path / "teacher")
        ) as teacher,
    ):
        made = [teacher.generate(request) for request in LESSON]
    run(["pack", "make", str(tmp_path / "teacher"), "-o", "lesson.zip"], dict(os.environ), tmp_path)
    env = {
        **os.environ,
        "WAVESPEED_BASE_URL": live_emulator.base_url,
        "WAVESPEED_API_KEY": FAKE_KEY,
        "KLEIN_GALLERY": str(tmp_path / "student"),
        "KLEIN_PACKS": str(tmp_path / "lesson.zip"),
    }
    before = live_emulator.emulator.count("POST")
    first = LESSON[0]
    size = ["-W", str(first.width), "-H", str(first.height), "-s", str(first.seed)]
    done = run(["generate", first.prompt, *size, "-o", "boat.png"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert live_emulator.emulator.count("POST") == before  # nothing sent
    assert "From your lesson pack (lesson.zip) · seed 1 · 256×256 · $0.000" in done.stderr
    assert strip_params((tmp_path / "boat.png").read_bytes()) == made[0].image
