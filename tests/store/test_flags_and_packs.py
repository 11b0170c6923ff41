"""NSFW flags survive every store path (issue 28: the gallery, packs made from a gallery and
from a notebook, ``klein pack show``, attached packs), and a newcomer's pack and resume
troubles (issue 26): messages that name the real problem, the quickstart's notebook packed
as it is, a prompt with a newline in the listing, an enhancement never pending."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from klein_widget import Gallery, Generation, GenerationRequest, KleinClient, Prediction
from klein_widget.cli._main import main
from klein_widget.client._models import ENHANCER_MODEL_ID
from klein_widget.emulator import Faults, create_app
from klein_widget.store import PackError, make_pack, open_pack
from klein_widget.store._place import GALLERY_ENV
from klein_widget.store._resume import resume_tasks
from tests.conftest import FAKE_KEY, fast_options
from tests.store.packs import LESSON, LOCAL_URL

pytestmark = pytest.mark.usefixtures("no_attached_packs")


@pytest.fixture(autouse=True)
def no_gallery_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GALLERY_ENV, raising=False)


def make(app: Starlette, gallery: Gallery, requests: list[GenerationRequest]) -> list[Generation]:
    with ExitStack() as stack:
        http = stack.enter_context(TestClient(app, base_url=LOCAL_URL))
        client = stack.enter_context(
            KleinClient(FAKE_KEY, LOCAL_URL, http_client=http, gallery=gallery, **fast_options())
        )
        return [client.generate(request) for request in requests]


def notebook_showing(generations: list[Generation], path: Path) -> Path:
    """A saved notebook whose outputs show ``generations`` (as their repr, as Jupyter does)."""
    # Here, not at the top: nbformat (jsonschema's grammars) costs every process that
    # collects this file over a CPU-second, and only this helper uses it.
    import nbformat

    cell = nbformat.v4.new_code_cell("gen")
    cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": repr(g)}, execution_count=1)
        for g in generations
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return path


def flagged_gallery(folder: Path) -> list[Generation]:
    return make(
        create_app(inference_time=0.01, faults=Faults(nsfw_rate=1.0)), Gallery(folder), LESSON
    )


def test_nsfw_flags_survive_the_gallery_packs_and_the_listing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = flagged_gallery(tmp_path / "klein-outputs")
    assert all(g.nsfw for g in made)
    gallery = Gallery(tmp_path / "klein-outputs")
    assert {e.nsfw for e in gallery.find()} == {True}
    assert gallery.rebuild_index() == len(LESSON)  # from the files alone: still flagged
    assert {e.nsfw for e in gallery.find()} == {True}

    from_gallery = make_pack(tmp_path / "klein-outputs", tmp_path / "a.zip")
    notebook = notebook_showing(made, tmp_path / "lesson.ipynb")
    from_notebook = make_pack(notebook, tmp_path / "b.zip")
    for manifest in (from_gallery, from_notebook):
        assert [line["nsfw"] for line in manifest["images"]] == [True] * len(LESSON)

    assert main(["pack", "show", str(tmp_path / "b.zip")]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[4] for row in rows] == ["NSFW"] * len(LESSON)

    student = Gallery(tmp_path / "student", packs=[open_pack(tmp_path / "b.zip")])
    found = student.stored(LESSON[0])
    assert found is not None
    assert found.from_pack == "b.zip"
    assert found.prediction.has_nsfw_contents == (True,)


def test_a_missing_source_says_it_is_missing(tmp_path: Path) -> None:
    with pytest.raises(PackError, match=r"lesson-02\.ipynb does not exist"):
        make_pack(tmp_path / "lesson-02.ipynb", tmp_path / "lesson-02.zip")


def test_the_quickstarts_notebook_packs_without_naming_its_gallery(tmp_path: Path) -> None:
    outputs = tmp_path / "klein-outputs"  # the quickstart saves its notebook in its gallery
    made = make(create_app(inference_time=0.01), Gallery(outputs), LESSON[:2])
    notebook = notebook_showing(made, outputs / "01-quickstart.ipynb")
    manifest = make_pack(notebook, tmp_path / "x.zip")
    assert [line["seed"] for line in manifest["images"]] == [1, 2]


def test_pack_show_keeps_one_line_per_image_for_a_prompt_with_a_newline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_lines = GenerationRequest("a lighthouse\nat dusk", width=256, height=256, seed=5)
    make(create_app(inference_time=0.01), Gallery(tmp_path / "g"), [two_lines, LESSON[0]])
    make_pack(tmp_path / "g", tmp_path / "p.zip")
    assert main(["pack", "show", str(tmp_path / "p.zip")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[1].endswith("a lighthouse\\nat dusk")


def test_an_enhancement_is_never_an_image_task_to_resume(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path / "g")
    app = create_app(inference_time=0.01)
    with ExitStack() as stack:
        http = stack.enter_context(TestClient(app, base_url=LOCAL_URL))
        client = stack.enter_context(
            KleinClient(FAKE_KEY, LOCAL_URL, http_client=http, gallery=gallery, **fast_options())
        )
        assert client.enhance_prompt("a fox")
        assert gallery.pending() == []
        # A row an older version journaled for the optimizer is not pending either.
        gallery.task_submitted(GenerationRequest("a fox"), Prediction("e1", ENHANCER_MODEL_ID))
        report = resume_tasks(client, gallery, timeout=5)
    assert gallery.pending() == []
    assert repr(report) == "ResumeReport(0 fetched)"
