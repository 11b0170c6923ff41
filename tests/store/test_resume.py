"""Journal and resume: what the server accepted survives the client (and the process) dying."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import klein_widget
from klein_widget import Gallery, GenerationRequest, KleinClient, Prediction, resume
from klein_widget.emulator import Emulator, RunningEmulator
from tests.conftest import FAKE_KEY
from tests.store.conftest import RESULT_PATH, SUBMIT_PATH, run_python


def test_accepted_task_is_journaled_before_download(make_sync: Any, isolated: Path) -> None:
    client = make_sync()
    prediction = client.submit("a lost fox", width=256, height=256, seed=7)

    entry = Gallery(isolated).entry(prediction.id)
    assert entry is not None
    assert entry.status == "submitted"
    assert entry.request == GenerationRequest("a lost fox", 256, 256, 7)
    assert entry.path is None
    assert [e.task_id for e in Gallery(isolated).pending()] == [prediction.id]


def test_resume_fetches_without_submitting_again(
    make_sync: Any, emulator: Emulator, isolated: Path
) -> None:
    first = make_sync()
    prediction = first.submit("a lost fox", width=256, height=256, seed=7)
    first.close()
    del first  # the "kernel" dies before the download

    report = resume(make_sync())

    assert [g.task_id for g in report.generations] == [prediction.id]
    gen = report.generations[0]
    assert gen.seed == 7
    assert gen.prompt == "a lost fox"
    assert gen.path is not None
    assert gen.path.exists()
    assert Gallery(isolated).entry(prediction.id).status == "completed"  # type: ignore[union-attr]
    assert emulator.count("POST", SUBMIT_PATH) == 1
    assert emulator.accepted == 1
    # Nothing is left to do, and doing nothing sends nothing.
    gets = emulator.count("GET")
    assert repr(resume(make_sync())) == "ResumeReport(0 fetched)"
    assert emulator.count("GET") == gets


_DIES_AFTER_ACCEPTANCE = """
import os
from klein_widget import KleinClient, PollSchedule

def die(progress):
    if progress.task_id:  # accepted and journaled: now the kernel dies
        print(progress.task_id, flush=True)
        os._exit(3)

KleinClient(poll=PollSchedule(fast=0.005, cap=0.05)).generate(
    "a fox that outlived its kernel", width=256, height=256, seed=11, on_progress=die
)
"""


def test_resume_after_the_process_died(
    live_emulator: RunningEmulator, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "WAVESPEED_BASE_URL": live_emulator.base_url,
        "WAVESPEED_API_KEY": FAKE_KEY,
        "KLEIN_GALLERY": str(isolated),
    }
    submits = live_emulator.emulator.count("POST", SUBMIT_PATH)

    died = run_python(_DIES_AFTER_ACCEPTANCE, env=env)

    assert died.returncode == 3, died.stderr
    task_id = died.stdout.strip()
    assert not list(isolated.glob("*/*.png"))
    monkeypatch.setenv("WAVESPEED_BASE_URL", live_emulator.base_url)
    monkeypatch.setenv("WAVESPEED_API_KEY", FAKE_KEY)
    klein_widget.session().configure()  # the restarted kernel's session reads the env

    report = klein_widget.resume()

    assert [g.task_id for g in report.generations] == [task_id]
    assert report.generations[0].seed == 11
    assert [p.name for p in isolated.glob("*/*.png")] == [report.generations[0].path.name]  # type: ignore[union-attr]
    assert list(klein_widget.session().history) == report.generations
    assert live_emulator.emulator.count("POST", SUBMIT_PATH) == submits + 1


def test_failed_task_is_marked_and_not_retried(
    make_sync: Any, emulator: Emulator, isolated: Path
) -> None:
    emulator.script("task", "fail")
    prediction = make_sync().submit("a doomed fox", width=256, height=256, seed=1)

    report = resume(make_sync())

    assert report.generations == []
    assert list(report.failed) == [prediction.id]
    assert "Emulated failure" in report.failed[prediction.id]
    entry = Gallery(isolated).entry(prediction.id)
    assert entry is not None
    assert entry.status == "failed"
    gets = emulator.count("GET", RESULT_PATH)
    resume(make_sync())
    assert emulator.count("GET", RESULT_PATH) == gets


def test_task_the_server_forgot_is_marked_failed(make_sync: Any, isolated: Path) -> None:
    gallery = Gallery(isolated)
    urls = {"get": "http://testserver/api/v3/predictions/gone/result"}
    gallery.task_submitted(GenerationRequest("forgotten", seed=1), Prediction("gone", urls=urls))

    report = resume(make_sync())

    assert list(report.failed) == ["gone"]
    assert gallery.entry("gone").status == "failed"  # type: ignore[union-attr]


def test_unreachable_task_is_abandoned_after_a_few_tries(
    make_sync: Any, emulator: Emulator, isolated: Path
) -> None:
    prediction = make_sync().submit("a stubborn fox", width=256, height=256, seed=1)
    emulator.script("result", *[503] * 60)
    client = make_sync()

    reports = [resume(client) for _ in range(3)]

    assert [list(r.retry_later) for r in reports] == [[prediction.id]] * 3
    entry = Gallery(isolated).entry(prediction.id)
    assert entry is not None
    assert entry.status == "abandoned"
    assert entry.attempts == 3
    assert "503" in entry.error
    assert Gallery(isolated).pending() == []


def test_tasks_from_another_server_are_left_alone(
    make_sync: Any, emulator: Emulator, isolated: Path
) -> None:
    urls = {"get": "https://api.wavespeed.ai/api/v3/predictions/elsewhere/result"}
    Gallery(isolated).task_submitted(
        GenerationRequest("remote", seed=1), Prediction("elsewhere", urls=urls)
    )

    report = resume(make_sync())

    assert report.other_servers == 1
    assert emulator.count("GET") == 0
    assert [e.task_id for e in Gallery(isolated).pending()] == ["elsewhere"]


def test_resume_into_a_given_gallery_when_the_client_has_none(
    make_sync: Any, tmp_path: Path
) -> None:
    gallery = Gallery(tmp_path / "journal")
    prediction = make_sync(gallery=gallery).submit("a fox", width=256, height=256, seed=2)

    report = resume(make_sync(gallery=False), gallery=gallery)

    assert report.generations[0].task_id == prediction.id
    assert report.generations[0].path is not None
    assert gallery.entry(prediction.id).status == "completed"  # type: ignore[union-attr]


def test_resume_stops_on_a_bad_key(make_sync: Any, emulator: Emulator) -> None:
    make_sync().submit("a fox", width=256, height=256, seed=2)
    emulator.configure(api_key="the-real-key")

    with pytest.raises(klein_widget.AuthenticationError):
        resume(make_sync())


def test_resume_with_the_gallery_off_does_nothing(make_sync: Any) -> None:
    client: KleinClient = make_sync(gallery=False)
    assert repr(resume(client)) == "ResumeReport(0 fetched)"
