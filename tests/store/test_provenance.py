"""Provenance (issue 21): a lesson's fixed-seed requests made on the emulator, then sent to a
second WaveSpeed-like server that answers as a real service (``"simulated": false``): the
stand-ins never answer it, from the gallery or from a pack; its own images then come back
free; and `resume` never asks it for a stand-in's task."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from klein_widget import Gallery, GenerationRequest, KleinClient, Prediction
from klein_widget.cli._main import main
from klein_widget.client._run import Progress
from klein_widget.emulator import create_app
from klein_widget.store import make_pack, open_pack
from klein_widget.store._resume import resume_tasks
from klein_widget.ui._text import done_text, progress_text
from tests.conftest import FAKE_KEY, fast_options
from tests.store.conftest import SUBMIT_PATH
from tests.store.packs import LESSON, LOCAL_URL, manifest_of, members, rezip, with_manifest

REAL_URL = "http://real.test"  # served in-process: a non-loopback name, no network


pytestmark = pytest.mark.usefixtures("no_attached_packs")


@pytest.fixture
def servers() -> tuple[Starlette, Starlette]:
    """The emulator, and a second emulator that answers as a real service."""
    return create_app(inference_time=0.01), create_app(inference_time=0.01, simulated=False)


@dataclass
class Lab:
    """One gallery, a client on the emulator and one on the real-acting server."""

    emulator: Starlette
    real: Starlette
    gallery: Gallery
    rehearsal: KleinClient
    paid: KleinClient


@pytest.fixture
def lab(tmp_path: Path, servers: tuple[Starlette, Starlette]) -> Iterator[Lab]:
    emulator, real = servers
    gallery = Gallery(tmp_path / "gallery")
    with ExitStack() as stack:
        yield Lab(
            emulator,
            real,
            gallery,
            client_at(stack, emulator, LOCAL_URL, gallery),
            client_at(stack, real, REAL_URL, gallery),
        )


def client_at(stack: ExitStack, app: Starlette, url: str, gallery: Gallery) -> KleinClient:
    http = stack.enter_context(TestClient(app, base_url=url))
    return stack.enter_context(
        KleinClient(FAKE_KEY, url, http_client=http, gallery=gallery, **fast_options())
    )


def sent(app: Starlette) -> int:
    count: int = app.state.emulator.count("POST", SUBMIT_PATH)
    return count


def test_a_real_service_gets_real_images_then_reruns_are_free(lab: Lab) -> None:
    emulator, real, rehearsal, paid = lab.emulator, lab.real, lab.rehearsal, lab.paid
    stand_ins = [rehearsal.generate(r) for r in LESSON]
    assert [(g.simulated, g.service) for g in stand_ins] == [
        (True, "emulator @127.0.0.1:8765")
    ] * len(LESSON)
    first = [paid.generate(r) for r in LESSON]
    assert sent(real) == len(LESSON)  # every one sent and paid: no stand-in answered
    assert paid.spend.images == len(LESSON)
    for generation in first:
        assert not generation.from_gallery
        assert (generation.simulated, generation.service) == (False, "real.test")
        assert done_text(generation, base_url=REAL_URL).startswith(
            "Your gallery only had an emulator stand-in for this; asked real.test · Done in"
        )
    assert {g.task_id for g in first}.isdisjoint(g.task_id for g in stand_ins)

    again = [paid.generate(r) for r in LESSON]  # fixed seeds on the real one: free
    assert sent(real) == len(LESSON)
    assert all(g.from_gallery and not g.simulated for g in again)
    assert [g.task_id for g in again] == [g.task_id for g in first]
    assert done_text(again[0], base_url=REAL_URL).startswith("From your gallery · seed 1")

    # The emulator may be answered by either: the real image is preferred.
    back = rehearsal.generate(LESSON[0])
    assert back.from_gallery
    assert back.task_id == first[0].task_id
    assert sent(emulator) == len(LESSON)


def test_the_emulators_caption_says_stand_in(lab: Lab) -> None:
    lab.rehearsal.generate(LESSON[0])
    again = lab.rehearsal.generate(LESSON[0])
    assert again.from_gallery
    assert done_text(again, base_url=LOCAL_URL).startswith(
        "From your gallery (emulator stand-in) · seed 1"
    )


def test_a_pack_of_stand_ins_says_so_and_never_answers_a_real_service(
    tmp_path: Path, servers: tuple[Starlette, Starlette]
) -> None:
    emulator, real = servers
    with ExitStack() as stack:
        teacher = client_at(stack, emulator, LOCAL_URL, Gallery(tmp_path / "teacher"))
        for request in LESSON:
            teacher.generate(request)
    manifest = make_pack(tmp_path / "teacher", tmp_path / "lesson.zip")
    assert manifest["simulated"] is True
    assert {line["simulated"] for line in manifest["images"]} == {True}
    assert {line["service"] for line in manifest["images"]} == {"emulator @127.0.0.1:8765"}

    pack = open_pack(tmp_path / "lesson.zip", verify=True)
    with ExitStack() as stack:
        student = client_at(stack, real, REAL_URL, Gallery(tmp_path / "s", packs=[pack]))
        made = student.generate(LESSON[0])
        assert not made.from_pack
        assert sent(real) == 1
        keyless = client_at(stack, emulator, LOCAL_URL, Gallery(tmp_path / "k", packs=[pack]))
        unheard = keyless.generate(LESSON[0])  # not yet known to simulate: sent
        practice = keyless.generate(LESSON[1])
    assert not unheard.from_pack
    assert practice.from_pack == "lesson.zip"
    assert practice.simulated
    assert sent(emulator) == len(LESSON) + 1  # then the pack answered the student


def test_a_loopback_server_is_an_emulator_until_it_says_otherwise(
    tmp_path: Path, servers: tuple[Starlette, Starlette]
) -> None:
    emulator, real = servers
    gallery = Gallery(tmp_path / "gallery")
    with ExitStack() as stack:
        client_at(stack, emulator, LOCAL_URL, gallery).generate(LESSON[0])
        local_real = client_at(stack, real, "http://127.0.0.1:9000", gallery)
        assert local_real.server_simulates  # loopback, nothing heard yet
        local_real.generate(LESSON[1].prompt, width=256, height=256)  # a random seed
        assert not local_real.server_simulates  # it said "simulated": false
        made = local_real.generate(LESSON[0])
    assert not made.from_gallery
    assert not made.simulated
    assert made.passed_over == "emulator @127.0.0.1:8765"


def test_resume_never_asks_a_real_service_for_a_stand_ins_task(lab: Lab) -> None:
    real, rehearsal, paid, gallery = lab.real, lab.rehearsal, lab.paid, lab.gallery
    waiting = rehearsal.submit(LESSON[0])  # paid, never fetched: origin recorded
    # A row from before origins and provenance were kept: nobody knows where it went.
    gallery.task_submitted(LESSON[1], Prediction(id="old-stand-in"))
    report = resume_tasks(paid, gallery, timeout=5)
    assert real.state.emulator.count("GET") == 0  # nothing asked of the real service
    assert (report.other_servers, report.stand_ins, report.generations) == (1, 1, [])
    assert "1 emulator stand-ins (not asked of a real service)" in repr(report)
    assert gallery.entry("old-stand-in") is not None
    assert gallery.entry("old-stand-in").status == "submitted"  # type: ignore[union-attr]

    fetched = resume_tasks(rehearsal, gallery, timeout=5)  # its own server fetches it
    assert waiting.id in {g.task_id for g in fetched.generations}


def test_an_index_from_before_provenance_reads_as_stand_ins(
    tmp_path: Path, servers: tuple[Starlette, Starlette]
) -> None:
    emulator, real = servers
    folder = tmp_path / "gallery"
    with ExitStack() as stack:
        client_at(stack, emulator, LOCAL_URL, Gallery(folder)).generate(LESSON[0])
    with sqlite3.connect(folder / "index.sqlite3") as db:  # as an older version wrote it
        for column in ("recipe", "simulated", "service"):
            db.execute(f"ALTER TABLE images DROP COLUMN {column}")
        db.execute("UPDATE images SET origin=''")
    old = Gallery(folder)
    (entry,) = old.find()
    assert entry.simulated  # the emulator's stamp in the file says so
    assert old.lookup(LESSON[0]) is not None
    assert old.lookup(LESSON[0], real_only=True) is None
    with ExitStack() as stack:
        made = client_at(stack, real, REAL_URL, old).generate(LESSON[0])  # migrates on write
    assert not made.from_gallery
    assert sent(real) == 1
    assert old.lookup(LESSON[0], real_only=True) is not None
    assert old.rebuild_index() == 2
    assert {e.simulated for e in old.find()} == {True, False}


def test_one_key_for_one_recipe() -> None:
    request = GenerationRequest("a fox", 512, 512, 7)
    assert request.key == request.recipe().key
    assert request.recipe("another/model").key != request.key
    assert GenerationRequest("a fox", 512, 512, 7, sync_mode=True).key == request.key


def test_a_pack_from_before_provenance_is_not_passed_off_as_real(
    tmp_path: Path, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    for request in LESSON:
        lab.rehearsal.generate(request)
    make_pack(lab.gallery.path, tmp_path / "new.zip")
    files = members(tmp_path / "new.zip")
    manifest = manifest_of(files)
    for line in manifest["images"]:  # as an older klein-widget wrote it
        del line["simulated"], line["service"]
    del manifest["simulated"]
    old = rezip(tmp_path / "old.zip", with_manifest(files, manifest))

    pack = open_pack(old, verify=True)
    assert {entry.simulated for entry in pack.entries} == {True}
    assert pack.stored(LESSON[0], real_only=True) is None
    assert main(["pack", "show", str(old)]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [row.split()[3] for row in rows] == ["unknown"] * len(LESSON)


def test_the_status_says_why_while_a_passed_over_request_is_sent(lab: Lab) -> None:
    lab.rehearsal.generate(LESSON[0])
    seen: list[Progress] = []
    lab.paid.generate(LESSON[0], on_progress=seen.append)

    sending = [p for p in seen if p.stage == "submitting"]
    assert [p.note for p in sending] == [
        "Your gallery only has an emulator stand-in for this; asking real.test"
    ]
    assert progress_text(sending[0]) == (
        "Your gallery only has an emulator stand-in for this; asking real.test…"
    )
    # A request with no stand-in passed over is sent without a note.
    quiet: list[Progress] = []
    lab.paid.generate(LESSON[1], on_progress=quiet.append)
    assert [p.note for p in quiet if p.stage == "submitting"] == [""]
