"""Issue 11, gallery faults: a broken index, a failed index write, a read-only folder, a bad
row or a bad file must neither lose a paid image nor break the whole gallery."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import klein_widget
from klein_widget import Gallery, Generation, GenerationRequest, Prediction
from tests.hostile import answers as A
from tests.hostile.harness import PROMPTS, SEED, SIDE, Servers, new_gallery, run_target
from tests.hostile.server import BOMB_PNG, PNG

IMAGES = ("*.png", "*.jpg", "*.bin")


def image_files(folder: Path) -> list[Path]:
    return [path for pattern in IMAGES for path in folder.rglob(pattern)]


def index_of(folder: Path) -> sqlite3.Connection:
    return sqlite3.connect(folder / "index.sqlite3", isolation_level=None)


def a_gallery_with_one_image(servers: Servers) -> Path:
    folder = new_gallery()
    outcome = run_target("sync", servers, gallery=folder)
    assert outcome.raised is None, outcome.describe()
    return folder


def test_corrupt_index_still_writes_image_file(servers: Servers) -> None:
    folder = new_gallery()
    (folder / "index.sqlite3").write_bytes(b"this is not a database" * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # how loudly is the fixer's choice
        outcome = run_target("sync", servers, gallery=folder)
        second = run_target("sync", servers, gallery=folder, fresh=True)
    assert outcome.raised is None, outcome.describe()
    assert second.raised is None, second.describe()
    assert len(image_files(folder)) == 2, "the paid images were not saved"


def test_failed_index_update_leaves_no_duplicate_on_resume(servers: Servers) -> None:
    folder = a_gallery_with_one_image(servers)
    with index_of(folder) as db:  # every completion now fails, as on a full disk
        db.execute(
            "CREATE TRIGGER disk_full BEFORE UPDATE ON images "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    before = len(image_files(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        outcome = run_target("sync", servers, gallery=folder, fresh=True)
    assert outcome.raised is None, outcome.describe()
    with index_of(folder) as db:  # space freed again
        db.execute("DROP TRIGGER disk_full")
    client = klein_widget.KleinClient(
        "wsk-hostile-CANARY-7f3a9e", servers.api.base_url, gallery=str(folder)
    )
    klein_widget.resume(client, timeout=2.0)
    assert len(image_files(folder)) == before + 1, "resume() saved the same task twice"


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Make paths read-only even for root (``chattr +i``), or skip if that is impossible."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available")
    done = []
    try:
        for path in paths:
            result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if result.returncode != 0:
                pytest.skip(f"cannot make a folder read-only here: {result.stderr!r}")
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=False)


def test_readonly_gallery_history_still_lists(servers: Servers) -> None:
    folder = a_gallery_with_one_image(servers)
    with immutable(folder / "index.sqlite3", folder):
        past = klein_widget.history(gallery=str(folder))
    assert len(past) == 1


def _insert_invalid_row(folder: Path, status: str) -> None:
    with index_of(folder) as db:
        db.execute(
            "INSERT INTO images (task_id, status, prompt, width, height, seed, origin, "
            "submitted_at, completed_at, path) VALUES ('bad-row', ?, '', 7, 99999, -5, '', "
            "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', 'nowhere.png')",
            (status,),
        )


def test_history_skips_invalid_row(servers: Servers) -> None:
    folder = a_gallery_with_one_image(servers)
    _insert_invalid_row(folder, "completed")
    with pytest.warns(RuntimeWarning, match=r"skipped 1 unreadable row.*bad-row.*prompt is empty"):
        past = klein_widget.history(gallery=str(folder))
    assert [entry.prompt for entry in past] == [PROMPTS[0]]


def test_resume_skips_invalid_row(servers: Servers) -> None:
    folder = new_gallery()
    client = klein_widget.KleinClient(
        "wsk-hostile-CANARY-7f3a9e", servers.api.base_url, gallery=str(folder)
    )
    pending = client.submit(PROMPTS[0], width=SIDE, height=SIDE, seed=SEED)
    _insert_invalid_row(folder, "submitted")
    with pytest.warns(RuntimeWarning, match=r"skipped 1 unreadable row.*bad-row"):
        report = klein_widget.resume(client, timeout=2.0)
    assert [g.task_id for g in report.generations] == [pending.id]


def _bomb_in_gallery(folder: Path) -> Generation:
    request = GenerationRequest(PROMPTS[0], SIDE, SIDE, SEED)
    bomb = Generation(request, Prediction(id="bomb-1", status="completed"), BOMB_PNG)
    fine = Generation(request, Prediction(id="fine-1", status="completed"), PNG)
    gallery = Gallery(folder)
    gallery.task_completed(fine)
    return gallery.task_completed(bomb)


def test_history_survives_decompression_bomb_file() -> None:
    folder = new_gallery()
    _bomb_in_gallery(folder)
    past = klein_widget.history(gallery=str(folder))
    assert len(past) == 2
    assert "<table" in past._repr_html_()


def test_grid_survives_decompression_bomb() -> None:
    bomb = _bomb_in_gallery(new_gallery())
    html = klein_widget.render_grid([[bomb]])
    assert "klein-grid" in html


def test_gallery_keeps_paid_images_and_no_key(servers: Servers) -> None:
    """A batch lands in the gallery, one file and one row per task, no key."""
    folder = new_gallery()
    outcome = run_target("batch", servers, gallery=folder)
    assert outcome.raised is None, outcome.describe()
    assert len(image_files(folder)) == 2
    gallery = Gallery(folder)
    assert {gallery.entry(t).status for t in servers.api.accepted_ids()} == {"completed"}


def test_resume_fetches_without_submitting(servers: Servers) -> None:
    """Resume() after a lost poll fetches the paid task, submits nothing."""
    outcome = run_target("resume", servers, A.only("result", A.running("processing")))
    assert outcome.raised is None, outcome.describe()
    assert [g.task_id for g in outcome.result.generations] == [outcome.prepared]
    assert servers.submit_count() == 1  # the original submit only
