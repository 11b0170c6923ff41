"""`make_pack` from a notebook a teacher ran: the images its saved outputs show, and only
those, make a pack that answers a student's same requests without sending anything."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from starlette.testclient import TestClient

from klein_widget import Gallery, GenerationRequest, KleinClient
from klein_widget.emulator import create_app
from klein_widget.store import make_pack, open_pack
from tests.conftest import FAKE_KEY, fast_options
from tests.notebooks.test_notebooks import LessonRuns, no_errors
from tests.store.packs import LOCAL_URL, teach

BOAT = "a paper boat on a puddle, overcast light, reflections of a red umbrella"


def test_a_pack_from_a_run_notebook_serves_a_student(
    tmp_path: Path, isolated: Path, lessons: LessonRuns
) -> None:
    run = lessons.first("03-seeds-and-batches.ipynb")  # a teacher's run, and its gallery
    shutil.copytree(run.gallery, isolated)
    hidden = GenerationRequest("made but never shown", width=256, height=256, seed=3)
    teach(isolated, [hidden])  # the same gallery holds an image the notebook never shows
    notebook = run.notebook
    no_errors(notebook)
    saved = tmp_path / "03-run.ipynb"
    nbformat.write(notebook, saved)

    manifest = make_pack(saved, tmp_path / "lesson-03.zip")  # the gallery: $KLEIN_GALLERY
    keys = {(i["prompt"], i["width"], i["height"], i["seed"]) for i in manifest["images"]}
    assert (BOAT, 512, 512, 1234) in keys  # a Generation shown in a grid
    assert {(BOAT, 512, 512, s) for s in range(1, 7)} <= keys  # the seed sweep
    assert len(keys) >= 1 + 6 + 6 + 8  # and the prompt grid and the batch
    assert (hidden.prompt, hidden.width, hidden.height, hidden.seed) not in keys

    app = create_app(inference_time=0.01)
    pack = open_pack(tmp_path / "lesson-03.zip", verify=True)
    with (
        TestClient(app, base_url=LOCAL_URL) as http,
        KleinClient(
            FAKE_KEY,
            LOCAL_URL,  # an emulator: the pack's stand-ins may answer it
            http_client=http,
            gallery=Gallery(tmp_path / "student", packs=[pack]),
            **fast_options(),
        ) as student,
    ):
        # A random seed first: its answer says the server simulates, which a pack of
        # stand-ins waits for (a loopback server not yet heard may be a gateway to WaveSpeed).
        student.generate("the student's own first picture", width=256, height=256)
        result = student.generate_many([GenerationRequest(*key) for key in sorted(keys)])
    assert app.state.emulator.count("POST") == 1
    assert {g.from_pack for g in result.generations} == {"lesson-03.zip"}
    assert len(result.generations) == len(keys)
