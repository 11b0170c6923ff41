"""Issue 21, end to end: a lesson run on the emulator, then on a WaveSpeed-like server that
answers as a real service (``"simulated": false``, as a gateway in front of WaveSpeed does),
with the same gallery. The second run shows real images, none of the emulator's stand-ins;
a third run on that server is free for every fixed seed.

The real-acting server listens on loopback, where a server that has not yet said what it is
counts as the emulator for the spend line: the lesson's first fixed-seed cell is the one a
stand-in would have answered before the lookup waited for the server to say.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from klein_widget.emulator import start
from tests.conftest import FAKE_KEY
from tests.notebooks.test_notebooks import LessonRuns, execute, no_errors, text_of

LESSON = "01-quickstart.ipynb"  # the shortest lesson with fixed seeds
SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
Key = tuple[str, int, int, int]


def rows(gallery: Path) -> dict[str, tuple[Key, bool, str]]:
    """task id -> ((prompt, width, height, seed), simulated, service) of every stored image."""
    with sqlite3.connect(gallery / "index.sqlite3") as db:
        found = db.execute(
            "SELECT task_id, prompt, width, height, seed, simulated, service FROM images"
        ).fetchall()
    return {t: ((p, w, h, s), bool(sim), service) for t, p, w, h, s, sim, service in found}


@pytest.mark.slow
def test_a_lesson_on_the_emulator_then_on_a_real_service_shows_real_images(
    lessons: LessonRuns, tmp_path: Path
) -> None:
    first = lessons.first(LESSON)
    no_errors(first.notebook)
    workdir, gallery = tmp_path / "lesson", tmp_path / "klein-outputs"
    shutil.copytree(first.workdir, workdir)
    shutil.copytree(first.gallery, gallery)
    stand_ins = rows(gallery)
    assert stand_ins
    assert {simulated for _, simulated, _ in stand_ins.values()} == {True}
    fixed = {key for key, _, _ in stand_ins.values()}  # every request of 01 has a seed

    with start(port=0, inference_time=0.05, simulated=False) as real:
        service = {"WAVESPEED_BASE_URL": real.base_url, "WAVESPEED_API_KEY": FAKE_KEY}
        second = execute(LESSON, workdir, gallery, **service)
        sent = real.emulator.count("POST", SUBMIT)
        third = execute(LESSON, workdir, gallery, **service)
        sent_again = real.emulator.count("POST", SUBMIT) - sent

    no_errors(second)
    text = text_of(second)
    assert f"Using WaveSpeed at {real.base_url}" in text
    assert "From your gallery (emulator stand-in)" not in text  # no stand-in answered
    host = real.base_url.split("//", 1)[1]
    assert f"Your gallery only had an emulator stand-in for this; asked {host}" in text
    made = {t: row for t, row in rows(gallery).items() if t not in stand_ins}
    assert {(simulated, service) for _, simulated, service in made.values()} == {(False, host)}
    assert {key for key, _, _ in made.values()} == fixed  # each one made again, for real
    assert sent == len(fixed)  # once each: seed 11 of the grid came back free

    no_errors(third)
    assert sent_again == 0  # a fixed-seed re-run on the real service is free
    again = text_of(third)
    assert "From your gallery · seed 42" in again
    assert "emulator stand-in" not in again
