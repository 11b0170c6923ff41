"""The batch's books: no image read twice, no paid task journaled three times (issue 27).

Counted through a real gallery whose image paths count their reads, and through a journal
passed to a real `Tally` that counts its calls.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from klein_widget import Gallery, Generation, GenerationFailedError, KleinClient, Prediction
from klein_widget.client._models import GenerationRequest
from klein_widget.client.batch._concurrency import Concurrency
from klein_widget.client.batch._plan import Job, Plan
from klein_widget.client.batch._tally import BatchOptions, Tally
from tests.conftest import FAKE_KEY, TEST_URL, fast_options


def counting_gallery(root: Path, reads: list[str]) -> Gallery:
    """The real gallery, whose stored images' paths count every read of the file."""

    class CountingPath(type(Path())):  # type: ignore[misc]
        def read_bytes(self) -> bytes:
            reads.append(self.name)
            return super().read_bytes()

    class CountingGallery(Gallery):
        def task_completed(self, generation: Generation) -> Generation:
            stored = super().task_completed(generation)
            assert stored.path is not None
            return dataclasses.replace(stored, path=CountingPath(stored.path))

    return CountingGallery(root)


def test_generations_read_each_image_once(tmp_path: Path, emulator_app: Starlette) -> None:
    reads: list[str] = []
    gallery = counting_gallery(tmp_path / "gallery", reads)
    with (
        TestClient(emulator_app, base_url=TEST_URL) as http,
        KleinClient(FAKE_KEY, TEST_URL, http_client=http, journal=gallery, **fast_options()) as c,
    ):
        result = c.generate_many(
            ["a fox", "a cat", "a heron"], width=256, height=256, seed=2, keep_images=False
        )
    assert reads == []  # kept on disk, not read yet
    generations = result.generations
    assert [g.prompt for g in generations] == ["a fox", "a cat", "a heron"]
    assert all(g.image.startswith(b"\x89PNG") for g in generations)
    assert sorted(Counter(reads).values()) == [1, 1, 1]  # was [2, 2, 2]


class CountingJournal:
    """A journal that only counts what it is told."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def task_submitted(self, request: GenerationRequest, prediction: Prediction) -> None:
        self.calls["task_submitted"] += 1

    def task_completed(self, generation: Generation) -> Generation:
        self.calls["task_completed"] += 1
        return generation

    def task_failed(self, task_id: str, reason: str) -> None:
        self.calls[f"task_failed {task_id}"] += 1

    def task_attempted(self, task_id: str, reason: str) -> None:
        self.calls[f"task_attempted {task_id}"] += 1

    def stored(self, request: GenerationRequest, *, real_only: bool = False) -> Generation | None:
        return None

    def unfinished_task(self, request: GenerationRequest, origin: str) -> str | None:
        return None


def failed_paid_task(resubmit_lost: bool) -> tuple[Tally, CountingJournal]:
    request = GenerationRequest("a fox", width=256, height=256, seed=1)
    plan = Plan([request], [Job(request, (0,), task_id="t-paid")])
    journal = CountingJournal()
    options = BatchOptions(resubmit_lost=resubmit_lost)
    tally = Tally(plan, options, journal=journal, timeout=5.0)
    job = tally.next_ready(0.0)
    assert job == 0
    failed = GenerationFailedError(
        "Task t-paid failed: nsfw", prediction=Prediction(id="t-paid", status="failed")
    )
    tally.record(job, failed, Concurrency(2), 0.0)
    return tally, journal


def test_resume_journals_a_failed_paid_task_once() -> None:
    tally, journal = failed_paid_task(resubmit_lost=False)
    assert journal.calls == Counter({"task_failed t-paid": 1})  # was three calls
    assert isinstance(tally.items[0].error, GenerationFailedError)


def test_a_batch_journals_a_lost_paid_task_once_and_makes_it_afresh() -> None:
    tally, journal = failed_paid_task(resubmit_lost=True)
    assert journal.calls == Counter({"task_failed t-paid": 1})
    assert tally.plan.jobs[0].task_id is None  # submitted again, as a new task
    assert [job for _, job in tally.waiting] == [0]
