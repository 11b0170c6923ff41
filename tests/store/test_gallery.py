"""The gallery on disk: files with embedded parameters, the SQLite index, history, load_params."""

from __future__ import annotations

import io
import re
import sqlite3
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import klein_widget
from klein_widget import Gallery, InvalidRequestError, KleinClient, history, load_params
from klein_widget.client._metadata import read_params
from klein_widget.emulator import Emulator, RunningEmulator
from klein_widget.store._files import slug
from klein_widget.store._place import resolve_gallery
from tests.conftest import FAKE_KEY
from tests.store.conftest import SUBMIT_PATH, run_python


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_every_completed_image_is_saved_with_its_parameters(
    client: KleinClient, isolated: Path
) -> None:
    gen = client.generate("A red fox, in the snow!", width=256, height=320, seed=42)

    assert gen.path is not None
    assert gen.path.parent == isolated / date.today().isoformat()
    assert re.fullmatch(r"\d{6}-a-red-fox-in-the-snow-42\.png", gen.path.name)
    stored = gen.path.read_bytes()
    assert read_params(stored) == gen.params()
    assert read_params(stored)["task_id"] == gen.task_id  # type: ignore[index]
    assert pixels(stored) == pixels(gen.image)  # the served picture, untouched

    entry = Gallery(isolated).entry(gen.task_id)
    assert entry is not None
    assert entry.status == "completed"
    assert entry.path == gen.path
    assert entry.request == gen.request
    assert entry.inference_ms == gen.prediction.inference_ms == 20
    assert entry.cost == 0.008
    assert entry.origin == "http://testserver"


def test_index_is_sqlite_in_wal_mode(client: KleinClient, isolated: Path) -> None:
    client.generate("a heron", width=256, height=256, seed=1)

    with sqlite3.connect(isolated / "index.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT prompt, seed, status FROM images").fetchall() == [
            ("a heron", 1, "completed")
        ]


def test_nothing_is_created_until_an_image_is_made(isolated: Path) -> None:
    gallery = Gallery(isolated)
    assert gallery.find() == []
    assert len(gallery) == 0
    assert history().entries == []
    assert not isolated.exists()


def test_load_params_regenerates_identical_bytes(client: KleinClient, emulator: Emulator) -> None:
    first = client.generate("a lighthouse at dusk", width=512, height=256, seed=1234)
    assert first.path is not None

    params = load_params(first.path)
    reused = client.generate(**params)  # a seed of your own: already made, so free
    assert reused.from_gallery
    assert reused.image == first.image
    assert emulator.count("POST", SUBMIT_PATH) == 1
    again = client.generate(**params, fresh=True)

    assert params == {
        "prompt": "a lighthouse at dusk",
        "width": 512,
        "height": 256,
        "seed": 1234,
        "model": "4b",
    }
    assert again.image == first.image
    assert again.path != first.path  # a second file, not an overwrite
    assert emulator.count("POST", SUBMIT_PATH) == 2


def test_load_params_reads_a_copied_file_and_saved_jpegs(
    client: KleinClient, tmp_path: Path
) -> None:
    gen = client.generate("an owl", width=256, height=256, seed=9)
    assert gen.path is not None
    copy = tmp_path / "found-on-disk.png"
    copy.write_bytes(gen.path.read_bytes())
    jpeg = gen.save(tmp_path / "owl.jpg")

    expected = {"prompt": "an owl", "width": 256, "height": 256, "seed": 9, "model": "4b"}
    assert load_params(copy) == expected
    assert load_params(str(jpeg)) == expected
    assert load_params(copy.read_bytes()) == expected


def test_load_params_says_when_a_file_has_no_parameters(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)

    with pytest.raises(ValueError, match="carries no klein-widget parameters"):
        load_params(plain)


def test_load_params_reads_a_sidecar_for_formats_without_metadata(
    client: KleinClient, isolated: Path
) -> None:
    gen = client.generate("a moth", width=256, height=256, seed=3)
    out = io.BytesIO()
    gen.to_pil().save(out, format="WEBP")
    webp = klein_widget.Generation(gen.request, gen.prediction, out.getvalue())
    stored = Gallery(isolated / "webp").task_completed(webp)

    assert stored.path is not None
    assert stored.path.suffix == ".webp"
    assert stored.path.with_name(stored.path.name + ".json").exists()
    assert load_params(stored.path)["seed"] == 3


def test_history_lists_and_filters(client: KleinClient) -> None:
    client.generate("a red fox", width=256, height=256, seed=1)
    client.generate("a Red Fox at night", width=320, height=256, seed=2)
    client.generate("a blue heron", width=256, height=256, seed=2)

    assert [e.prompt for e in history()] == ["a blue heron", "a Red Fox at night", "a red fox"]
    assert [e.seed for e in history("red fox")] == [2, 1]  # any case, newest first
    assert [e.prompt for e in history(seed=2)] == ["a blue heron", "a Red Fox at night"]
    assert [e.prompt for e in history(size=(320, 256))] == ["a Red Fox at night"]
    assert [e.prompt for e in history(size="320x256")] == ["a Red Fox at night"]
    assert len(history(limit=2)) == 2
    assert len(history(date=date.today())) == 3
    assert len(history(date=date.today().isoformat())) == 3
    assert len(history(date=date.today() - timedelta(days=1))) == 0
    assert len(history(since=datetime.now() + timedelta(minutes=1))) == 0
    assert len(history(until=datetime.now() + timedelta(minutes=1))) == 3
    assert history("%").entries == []  # LIKE wildcards are matched literally
    with pytest.raises(InvalidRequestError, match="date"):
        history(date="yesterday")


def test_history_entries_regenerate_and_load(client: KleinClient) -> None:
    gen = client.generate("a kite", width=256, height=256, seed=5)
    past = history()

    assert past[0].params() == {
        "prompt": "a kite",
        "width": 256,
        "height": 256,
        "seed": 5,
        "model": "4b",
    }
    loaded = past.load(0)
    assert loaded.task_id == gen.task_id
    assert pixels(loaded.image) == pixels(gen.image)
    assert client.generate(**past[0].params()).image == gen.image


def test_history_html_has_thumbnails_and_escapes_prompts(client: KleinClient) -> None:
    client.generate("<script>alert(1)</script> & a fox", width=256, height=256, seed=1)
    client.generate('a "quoted" <b>bold</b> cat', width=256, height=256, seed=2)

    page = history()._repr_html_()

    assert page.count('<img src="data:image/jpeg;base64,') == 2
    assert "<script>" not in page
    assert "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; a fox" in page
    assert "a &quot;quoted&quot; &lt;b&gt;bold&lt;/b&gt; cat" in page
    text = repr(history())
    assert text.startswith("2 images (")
    assert "seed 1" in text
    assert "<script>alert(1)</script>" in text


def test_history_shows_a_missing_file_without_failing(client: KleinClient) -> None:
    gen = client.generate("a vanishing cat", width=256, height=256, seed=1)
    assert gen.path is not None
    gen.path.unlink()

    assert "file missing" in history()._repr_html_()


def test_gallery_option_resolution(
    tmp_path: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch, make_sync: Any
) -> None:
    default = make_sync().journal
    assert isinstance(default, Gallery)
    assert default.path == isolated
    assert make_sync(gallery=False).journal is None
    assert make_sync(gallery=None).journal is None
    assert make_sync(gallery="off").journal is None
    chosen = make_sync(gallery=tmp_path / "mine").journal
    assert isinstance(chosen, Gallery)
    assert chosen.path == tmp_path / "mine"
    own = Gallery(tmp_path / "own")
    assert make_sync(gallery=own).journal is own
    journal = klein_widget.session()
    assert make_sync(journal=journal, gallery=own).journal is journal  # explicit journal wins

    monkeypatch.setenv("KLEIN_GALLERY", "off")
    assert make_sync().journal is None
    assert klein_widget.Session().gallery is None
    monkeypatch.delenv("KLEIN_GALLERY")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for notebook in ("ipykernel", "marimo"):  # earlier tests may have imported them
        monkeypatch.delitem(sys.modules, notebook, raising=False)
    fallback = resolve_gallery()  # a script: the user data folder
    assert fallback is not None
    assert fallback.path == tmp_path / "data" / "klein-widget" / "gallery"
    in_notebook = resolve_gallery(runs_in="notebook")  # a kernel's own: tests/session/test_place.py
    assert in_notebook is not None
    assert in_notebook.path == tmp_path / "klein-outputs"


def test_gallery_off_writes_nothing(make_sync: Any, isolated: Path) -> None:
    client = make_sync(gallery=False)
    gen = client.generate("a fox", width=256, height=256, seed=1)

    assert gen.path is None
    assert not isolated.exists()


def test_session_gallery_is_configurable_and_shared(
    live_env: str, tmp_path: Path, isolated: Path
) -> None:
    session = klein_widget.session()
    assert isinstance(session.gallery, Gallery)
    assert session.gallery.path == isolated

    session.configure(gallery=tmp_path / "class")
    gen = session.client().generate("a session fox", width=256, height=256, seed=8)

    assert gen.path is not None
    assert gen.path.is_relative_to(tmp_path / "class")
    assert list(session.history) == [gen]
    assert [e.task_id for e in history()] == [gen.task_id]  # history() reads the session's
    session.configure(gallery=False)
    assert session.client().generate("unsaved", width=256, height=256, seed=1).path is None


def test_unwritable_gallery_warns_every_time_and_still_returns_images(
    make_sync: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the gallery folder should be")
    client = make_sync(gallery=blocker)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")  # Python's own filter: repeats of one text are hidden
        first = client.generate("a fox", width=256, height=256, seed=1)
        second = client.generate("a fox", width=256, height=256, seed=2)

    assert first.image
    assert second.image
    assert first.path is None
    assert second.path is None
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    for gen in (first, second):  # each paid image that could not be saved is named
        [saving] = [m for m in messages if f"save the image of task {gen.task_id}" in m]
        assert str(blocker) in saving
        assert "gen.save" in saving
    assert any("could not record an accepted task in the gallery at" in m for m in messages)


def test_a_deleted_gallery_folder_is_recreated(client: KleinClient, isolated: Path) -> None:
    import shutil

    client.generate("one", width=256, height=256, seed=1)
    shutil.rmtree(isolated)
    gen = client.generate("two", width=256, height=256, seed=2)

    assert gen.path is not None
    assert gen.path.exists()
    assert [e.prompt for e in history()] == ["two"]


def test_same_prompt_and_seed_never_overwrites(client: KleinClient, isolated: Path) -> None:
    gens = [client.generate("twins", width=256, height=256, seed=7, fresh=True) for _ in range(3)]

    paths = {g.path for g in gens}
    assert len(paths) == 3
    assert all(p is not None and p.exists() for p in paths)
    assert len(Gallery(isolated)) == 3


def test_slugs_are_readable_and_safe() -> None:
    assert slug("Ünïcödé café — à la carte") == "unicode-cafe-a-la-carte"
    assert slug("../../etc/passwd") == "etc-passwd"
    assert slug("日本の風景") == "image"
    assert len(slug("word " * 40)) <= 40


def test_concurrent_threads_write_one_gallery(make_sync: Any, isolated: Path) -> None:
    # Separate clients and Gallery objects (no shared lock), one folder and index.
    clients = [make_sync(gallery=Gallery(isolated)) for _ in range(4)]

    def make(i: int) -> Any:
        return clients[i % 4].generate("crowd", width=256, height=256, seed=i % 3, fresh=True)

    with ThreadPoolExecutor(max_workers=8) as pool:
        gens = list(pool.map(make, range(24)))

    assert all(g.path is not None and g.path.exists() for g in gens)
    assert len({g.path for g in gens}) == 24
    gallery = Gallery(isolated)
    assert len(gallery) == 24
    assert {e.task_id for e in gallery.find(limit=None)} == {g.task_id for g in gens}


_WRITER = """
import sys
from klein_widget import KleinClient, PollSchedule
client = KleinClient(poll=PollSchedule(fast=0.005, cap=0.05))
for i in range(6):
    gen = client.generate("crowd", width=256, height=256, seed=i % 2, fresh=True)
    print(gen.task_id, gen.path)
"""


def test_concurrent_processes_and_threads_write_one_gallery(
    live_emulator: RunningEmulator, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "WAVESPEED_BASE_URL": live_emulator.base_url,
        "WAVESPEED_API_KEY": FAKE_KEY,
        "KLEIN_GALLERY": str(isolated),
    }
    monkeypatch.setenv("WAVESPEED_BASE_URL", live_emulator.base_url)
    monkeypatch.setenv("WAVESPEED_API_KEY", FAKE_KEY)
    local = KleinClient()

    with ThreadPoolExecutor(max_workers=6) as pool:
        procs = [pool.submit(run_python, _WRITER, env=env) for _ in range(3)]
        mine = [
            pool.submit(local.generate, "crowd", width=256, height=256, seed=i % 2, fresh=True)
            for i in range(6)
        ]
        outputs = [p.result() for p in procs]
        gens = [m.result() for m in mine]

    for out in outputs:
        assert out.returncode == 0, out.stderr
    task_ids = {line.split()[0] for out in outputs for line in out.stdout.splitlines()}
    task_ids |= {g.task_id for g in gens}
    assert len(task_ids) == 24

    gallery = Gallery(isolated)
    entries = gallery.find(limit=None)
    assert {e.task_id for e in entries} == task_ids
    assert all(e.path is not None and e.path.exists() for e in entries)
    assert len({e.path for e in entries}) == 24
    with sqlite3.connect(isolated / "index.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    local.close()


def test_a_lost_index_is_rebuilt_from_the_files(
    client: KleinClient, emulator: Emulator, isolated: Path
) -> None:
    made = [client.generate("an owl", width=256, height=256, seed=s) for s in (1, 2)]
    (isolated / "index.sqlite3").rename(isolated / "broken.sqlite3")
    for extra in isolated.glob("index.sqlite3-*"):  # WAL and shared-memory files go too
        extra.unlink()
    gallery = Gallery(isolated)
    assert len(gallery) == 0

    assert gallery.rebuild_index() == 2
    assert gallery.rebuild_index() == 2  # again: rows are updated, not duplicated
    assert len(gallery) == 2
    for gen in made:
        entry = gallery.entry(gen.task_id)
        assert entry is not None
        assert (entry.prompt, entry.seed, entry.path) == ("an owl", gen.seed, gen.path)
        assert gallery.load(entry).image == gen.image
    again = client.generate("an owl", width=256, height=256, seed=2)  # free again
    assert again.from_gallery
    assert emulator.count("POST", SUBMIT_PATH) == 2


def test_a_mark_the_gallery_cannot_write_warns_at_its_callers_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the gallery folder should be")
    gallery = Gallery(blocker)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gallery.task_failed("t-1", "refused")
        gallery.task_attempted("t-2", "no answer")

    # The journal hooks write the index themselves: no twin names between, so the
    # warning points at the line that called them, not inside the gallery.
    assert all("could not update a task" in str(w.message) for w in caught)
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name] * 2


def test_a_broken_index_warns_at_the_line_that_read_it(tmp_path: Path) -> None:
    (tmp_path / "index.sqlite3").write_bytes(b"not a database " * 100)
    gallery = Gallery(tmp_path, packs=())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Reads of every depth inside the store (lookup goes through two helpers, stored
        # through lookup): each reads as nothing and warns here, not inside the store.
        found = (gallery.find(), len(gallery), gallery.pending(), gallery.entry("t"))
        asked = klein_widget.GenerationRequest("an owl", 256, 256, 7)
        more = (gallery.lookup(asked), gallery.unfinished_task(asked, "x"), gallery.stored(asked))

    assert found == ([], 0, [], None)
    assert more == (None, None, None)
    assert all("could not read the index" in str(w.message) for w in caught)
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name] * 7
