"""Run one client call against the hostile server, bounded, and check the seven invariants.

A *target* is one way of spending money through the public API:

- ``sync`` / ``async``: ``KleinClient.generate`` / ``AsyncKleinClient.generate`` (one image)
- ``batch`` / ``abatch``: ``generate_many(["a fox", "a cat"], seed=1)`` on either client
- ``resume``: ``klein_widget.resume(client)`` for a task an earlier call submitted
- ``edit`` / ``aedit``: ``edit(prompt, [url], model="9b")`` on either client (a reference
  given as a URL: nothing to upload, so the edit's submit alone is under test)

`run_target` makes a fresh client (fast poll and retry schedules and a short download
grace, `GRACE`, passed through configuration) with a fresh gallery folder, runs the call in
a worker thread under a memory watchdog, and returns an `Outcome`; `check_invariants`
asserts:

1. the call ends within the bound the package documents for it (`time_bound`): its
   ``timeout``, plus the client's ``download_grace`` only if an image download ran, plus
   `SLACK`;
2. the peak of memory allocated meanwhile (tracemalloc) stays under `MEMORY_LIMIT`;
3. only `KleinError` subclasses escape, each with a non-empty message;
4. submits received (by both servers) <= images asked for, plus one per 429 on a submit;
5. an error after the server accepted a task carries that ``task_id`` and
   ``maybe_accepted=True``; ``spend`` counts every accepted task and no more than the
   accepted plus the ambiguous ones; no budget reservation is left held; every accepted
   task has its row in the gallery (the journal that ``resume()`` reads);
6. every returned ``Generation.image`` decodes with Pillow (``verify`` and ``load``);
7. the API key is in no error text (``str``, ``repr``, formatted traceback), no log
   record, no gallery file, and no request the other origin received.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import tempfile
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

import klein_widget
from klein_widget import (
    AsyncKleinClient,
    BudgetExceededError,
    Gallery,
    Generation,
    KleinClient,
    KleinError,
)
from klein_widget.client._family import resolve_model
from tests.conftest import fast_options
from tests.hostile.server import Answer, HostileServer, Request, Route

KEY = "wsk-hostile-CANARY-7f3a9e"
SECRETS = (KEY, "CANARY-7f3a9e")
PROMPTS = ("a fox", "a cat")
SIDE = 256
SEED = 1
TIMEOUT = 1.5
# The timeout of a call whose fault is a stall (an answer held, trickled, late or endless):
# the call waits it out, so it is what such a test costs. It only has to let the calls that
# come before the stall finish comfortably: without faults a whole call (submit, polls,
# download) took a median 0.15-0.25 s and at most 0.7 s with the machine at load 9 on two
# cores (first calls excluded: `warm_up`). A call that stalls anyway still must end within
# its bound; `reached` tells (as a hypothesis event) whether the stall was met. A flood (a
# body past the size caps) is no stall: reading it to the cap takes CPU, so it keeps TIMEOUT.
STALL_TIMEOUT = 0.75
# The documented bound of a call is its ``timeout``, and ``timeout + download_grace`` when
# a paid image's download ran (`KleinClient.generate`'s docstring). On top, a stated
# allowance for scheduling on a busy machine (thread start, the last answer's parsing):
SLACK = 1.0
# The clients here get a short download grace (the default, `DOWNLOAD_GRACE`, is 30 s): a
# download that ignores its deadline then overruns ``TIMEOUT + GRACE + SLACK`` (3 s) while the
# servers still hold or trickle (``stream_seconds``, 4 s in conftest), so invariant 1 can
# catch it; with 30 s it could not, and each slow download example waited for the server.
GRACE = 0.5
BATCH_SLACK = 1.0  # a batch also starts its jobs, and its runner wakes every tick
MEMORY_LIMIT = 100 * 2**20
# A call still running this long after its longest documented bound (a download's) is
# stopped (servers aborted) and fails.
HARD_CAP = 5.0
TARGETS = ("sync", "async", "batch", "abatch", "resume", "edit", "aedit")
ONE_IMAGE = ("sync", "async", "edit", "aedit")  # targets that make one image
REFERENCE = "https://images.example/reference.png"  # passed through, never fetched
EDIT_MODEL = "9b"
Target = str


@dataclass
class Servers:
    """The API server and a second server on another origin (image CDN, redirect target)."""

    api: HostileServer
    img: HostileServer

    def reset(self) -> None:
        self.api.reset()
        self.img.reset()

    def abort(self) -> None:
        self.api.abort()
        self.img.abort()

    def script(self, scripts: dict[Route, Iterable[Answer]]) -> None:
        """Script the API's submit and result routes and the CDN's image route."""
        for route, answers in scripts.items():
            server = self.img if route == "image" else self.api
            server.script(route, *answers)

    def submits(self) -> list[Any]:
        return self.api.submits + self.img.submits

    def submit_count(self) -> int:
        return self.api.count("submit") + self.img.count("submit")


@dataclass
class Outcome:
    """What one bounded call did."""

    target: Target
    timeout: float
    asked: int  # images the call asked to be made (0 for resume)
    grace: float = klein_widget.DOWNLOAD_GRACE  # the client's download_grace
    elapsed: float = 0.0
    finished: bool = True
    peak_memory: int = 0
    result: Any = None
    raised: BaseException | None = None
    errors: list[BaseException] = field(default_factory=list)  # raised, or a batch item's
    generations: list[Generation] = field(default_factory=list)
    client: Any = None
    gallery: Path | None = None
    spend_before: int = 0
    refunded_before: int = 0
    submits_before: int = 0
    prepared: str | None = None  # the task id resume() was meant to fetch
    downloads: int = 0  # image downloads the servers received during the call

    def describe(self) -> str:
        what = (
            f"raised {type(self.raised).__name__}: {self.raised}"
            if self.raised is not None
            else f"returned {self.result!r}"
        )
        errors = [
            f"{type(e).__name__}(task_id={getattr(e, 'task_id', None)!r})" for e in self.errors
        ]
        return (
            f"{self.target}: {what} in {self.elapsed:.2f} s ({self.downloads} downloads), "
            f"peak memory {self.peak_memory / 2**20:.0f} MB, errors {errors}"
        )


# --- running ---------------------------------------------------------------------------------


class MemoryWatch:
    """tracemalloc peak over a call; past ``limit`` it calls ``trip`` (abort the servers)."""

    def __init__(self, limit: int, trip: Callable[[], None]) -> None:
        self.limit = limit
        self.trip = trip
        self.peak = 0
        self.tripped = False
        self._stop = threading.Event()
        self._started_here = False

    def __enter__(self) -> MemoryWatch:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_here = True
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]
        self._thread = threading.Thread(target=self._watch, daemon=True, name="memory-watch")
        self._thread.start()
        return self

    def _watch(self) -> None:
        # The peak asserted is tracemalloc's own (exact); this loop only trips the servers.
        # Every 20 ms: a client buffering a body at loopback speed overshoots the limit by
        # a few tens of MB at most, and waking each 2 ms cost 16 ms of CPU a second.
        while not self._stop.wait(0.02):
            current = tracemalloc.get_traced_memory()[0] - self._base
            if current > self.limit and not self.tripped:
                self.tripped = True
                self.trip()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(0, tracemalloc.get_traced_memory()[1] - self._base)
        if self._started_here:
            tracemalloc.stop()


def bounded(call: Callable[[], Any], servers: Servers, outcome: Outcome) -> None:
    """Run ``call`` in a thread under the memory watch; stop the servers if it overruns."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = call()
        except BaseException as error:
            box["error"] = error

    worker = threading.Thread(target=work, daemon=True, name=f"hostile-{outcome.target}")
    # The test process's heap (pytest, hypothesis, earlier examples) is set aside for the
    # call: a full collection walks all of it and stops every thread meanwhile (0.4-1.4 s
    # measured inside calls at load 23), time no client controls. The call's own garbage is
    # still collected, and timed, as usual.
    gc.freeze()
    with MemoryWatch(MEMORY_LIMIT, servers.abort) as watch:
        start = time.monotonic()
        worker.start()
        worker.join(outcome.timeout + outcome.grace + SLACK + HARD_CAP)
        if worker.is_alive():
            servers.abort()
            worker.join(10.0)
        outcome.elapsed = time.monotonic() - start
    gc.unfreeze()
    outcome.finished = not worker.is_alive()
    outcome.peak_memory = watch.peak
    outcome.result = box.get("result")
    outcome.raised = box.get("error")


def make_client(
    kind: str, servers: Servers, gallery: Path, *, timeout: float, key: str = KEY, **options: Any
) -> Any:
    """A fresh client of ``kind`` ("sync" or "async") on the hostile API server."""
    cls = AsyncKleinClient if kind == "async" else KleinClient
    return cls(
        key,
        servers.api.base_url,
        timeout=timeout,
        gallery=str(gallery),
        **fast_options(**options),
    )


def generate_on_clock(kind: str, servers: Servers, clock: Callable[[], float]) -> Any:
    """One ``generate`` of a fresh ``kind`` client whose deadlines read ``clock`` (its
    ``clock=`` option): a test moves time at a chosen moment, with no wall-clock bound."""
    client = make_client(kind, servers, new_gallery(), timeout=5.0, clock=clock)
    request = {"width": 256, "height": 256, "seed": 1}

    async def awaited() -> Any:
        async with client:
            return await client.generate("a fox", **request)

    return asyncio.run(awaited()) if kind == "async" else client.generate("a fox", **request)


GALLERY_ROOT: list[Path] = []  # set by conftest to a pytest temporary folder


def new_gallery() -> Path:
    """A fresh, empty gallery folder (under pytest's temporary folder when there is one)."""
    root = GALLERY_ROOT[-1] if GALLERY_ROOT else None
    return Path(tempfile.mkdtemp(prefix="gallery-", dir=root))


def run_target(
    target: Target,
    servers: Servers,
    scripts: dict[Route, Iterable[Answer]] | None = None,
    *,
    timeout: float = TIMEOUT,
    grace: float = GRACE,
    sync_mode: bool = False,
    base64_output: bool = False,
    gallery: Path | None = None,
    max_spend: float | str | None = "asked",
    rule: Callable[[Request], Answer | None] | None = None,
    key: str = KEY,
    fresh: bool = False,
) -> Outcome:
    """Make one call of ``target`` against the servers after applying ``scripts``."""
    servers.reset()
    folder = gallery or new_gallery()
    asked = {"batch": 2, "abatch": 2, "resume": 0}.get(target, 1)
    outcome = Outcome(target, timeout, asked, grace=grace, gallery=folder)
    kind = "async" if target in ("async", "abatch", "aedit") else "sync"
    # A budget of exactly the images asked for: a reservation left held shows up below.
    price = resolve_model(EDIT_MODEL, edit=True).reserve_mills / 1000 if "edit" in target else None
    price = price or klein_widget.PRICE_PER_IMAGE
    budget = max(asked, 1) * price if max_spend == "asked" else max_spend
    # A script for the download makes the client ask for URLs, so the download it scripts
    # happens; otherwise clients keep their default (the image inline in the last poll).
    inline = not (scripts and "image" in scripts)
    options = {"max_spend": budget, "key": key, "inline_images": inline, "download_grace": grace}
    if target == "resume":
        client = make_client("sync", servers, folder, timeout=timeout, **options)
        outcome.prepared = client.submit(
            PROMPTS[0], width=SIDE, height=SIDE, seed=SEED, base64_output=base64_output
        ).id
    outcome.spend_before = 0 if target != "resume" else client.spend.images
    outcome.refunded_before = 0 if target != "resume" else client.spend.refunded
    outcome.submits_before = servers.submit_count()
    servers.script(scripts or {})
    servers.api.rule = rule
    # A gallery given twice would answer the second call from disk: fresh asks again.
    request = {"width": SIDE, "height": SIDE, "seed": SEED, "fresh": fresh}

    holder: dict[str, Any] = {}

    def made() -> Any:
        # Built inside the bounded call: a client may refuse its configuration (a bad key).
        holder["client"] = make_client(kind, servers, folder, timeout=timeout, **options)
        return holder["client"]

    if target == "sync":
        bounded(
            lambda: made().generate(
                PROMPTS[0], sync_mode=sync_mode, base64_output=base64_output, **request
            ),
            servers,
            outcome,
        )
    elif target == "async":

        async def one() -> Any:
            async with made() as aclient:
                return await aclient.generate(
                    PROMPTS[0], sync_mode=sync_mode, base64_output=base64_output, **request
                )

        bounded(lambda: asyncio.run(one()), servers, outcome)
    elif target == "batch":
        bounded(
            lambda: made().generate_many(
                list(PROMPTS), progress=False, confirm=True, timeout=timeout, **request
            ),
            servers,
            outcome,
        )
    elif target == "abatch":

        async def many() -> Any:
            async with made() as aclient:
                return await aclient.generate_many(
                    list(PROMPTS), progress=False, confirm=True, timeout=timeout, **request
                )

        bounded(lambda: asyncio.run(many()), servers, outcome)
    elif target in ("edit", "aedit"):
        edit = {"model": EDIT_MODEL, "sync_mode": sync_mode, "base64_output": base64_output}

        async def edited() -> Any:
            async with made() as aclient:
                return await aclient.edit(PROMPTS[0], [REFERENCE], **edit, **request)

        if target == "edit":
            bounded(
                lambda: made().edit(PROMPTS[0], [REFERENCE], **edit, **request), servers, outcome
            )
        else:
            bounded(lambda: asyncio.run(edited()), servers, outcome)
    else:
        holder["client"] = client
        bounded(lambda: klein_widget.resume(client, timeout=timeout), servers, outcome)
    client = holder.get("client")
    outcome.client = client
    outcome.downloads = downloads(servers)

    if outcome.raised is not None:
        outcome.errors.append(outcome.raised)
    result = outcome.result
    if isinstance(result, Generation):
        outcome.generations.append(result)
    elif target in ("batch", "abatch") and result is not None:
        for item in result:
            if item.generation is not None:
                outcome.generations.append(item.generation)
            if item.error is not None:
                outcome.errors.append(item.error)
    elif target == "resume" and result is not None:
        outcome.generations.extend(result.generations)
    return outcome


def downloads(servers: Servers) -> int:
    """Image downloads received since the last reset: the image route on either origin, or
    any other path on the image origin (only image URLs point there)."""
    other = sum(1 for r in servers.img.requests if r.route == "other")
    return servers.api.count("image") + servers.img.count("image") + other


def reached(scripts: dict[Route, Iterable[Answer]], servers: Servers) -> bool:
    """Whether every route the scripts name was asked at least once (the last call met
    its scripted answers, rather than ending before them)."""
    asked = {
        route: servers.api.count(route) + servers.img.count(route)
        for route in ("submit", "result", "image")
    }
    return all(asked.get(route, 1) > 0 for route, answers in scripts.items() if tuple(answers))


_WARM: list[bool] = []  # set once this process has made one call of every target


def warm_up(servers: Servers) -> None:
    """Make one plain call of every target, untimed, once per process: a process's first
    call imports and opens what the package loads on first use (0.5 s for a sync call,
    2 s for an async one with the machine busy), which is no part of any call's bound."""
    if _WARM:
        return
    for target in TARGETS:
        run_target(target, servers)
    servers.reset()
    _WARM.append(True)


# --- the invariants ----------------------------------------------------------------------------


def time_bound(outcome: Outcome, slack: float = SLACK) -> float:
    """The seconds ``outcome``'s call may take: what the package documents for that kind of
    call (the client's download grace only where a download ran), plus the stated slack."""
    bound = outcome.timeout + slack
    if outcome.target in ("batch", "abatch"):
        bound += BATCH_SLACK
    if outcome.downloads:
        bound += outcome.grace
    return bound


def error_texts(error: BaseException) -> list[str]:
    return [
        str(error),
        repr(error),
        "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    ]


def log_texts(records: Iterable[logging.LogRecord]) -> list[str]:
    texts = []
    for record in records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            texts.extend(error_texts(record.exc_info[1]))
    return texts


def gallery_leaks(folder: Path | None, secrets: Iterable[str]) -> list[str]:
    if folder is None or not folder.exists():
        return []
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {s!r}" for s in secrets if s.encode() in data]
    return found


def decode_problem(image: bytes) -> str | None:
    """Why Pillow cannot decode ``image``, or None if it can."""
    try:
        with Image.open(io.BytesIO(image)) as picture:
            picture.verify()
        with Image.open(io.BytesIO(image)) as picture:
            picture.load()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def check_invariants(
    outcome: Outcome,
    servers: Servers,
    records: Iterable[logging.LogRecord] = (),
    *,
    secrets: Iterable[str] = SECRETS,
    slack: float = SLACK,
) -> None:
    """Assert the seven invariants; the message says which one broke and how."""
    secrets = tuple(secrets)
    said = outcome.describe()

    # 1. time
    assert outcome.finished, f"[1 deadline] still running after {outcome.elapsed:.1f} s; {said}"
    bound = time_bound(outcome, slack)
    assert outcome.elapsed <= bound, (
        f"[1 deadline] took {outcome.elapsed:.2f} s > {bound:g} s; {said}"
    )

    # 2. memory
    assert outcome.peak_memory < MEMORY_LIMIT, (
        f"[2 memory] peak {outcome.peak_memory / 2**20:.0f} MB allocated; {said}"
    )

    # 3. only KleinErrors, with a message
    for error in outcome.errors:
        assert isinstance(error, KleinError), (
            f"[3 raw exception] {type(error).__name__}: {error}; {said}"
        )
        assert str(error).strip(), f"[3 empty message] {type(error).__name__}; {said}"

    # 4. money: no resubmits
    records_now = servers.submits()[outcome.submits_before :]
    received = servers.submit_count() - outcome.submits_before
    refused_429 = sum(1 for r in records_now if r.status == 429)
    assert received <= outcome.asked + refused_429, (
        f"[4 resubmit] {received} submits for {outcome.asked} images "
        f"({refused_429} answered 429): {[(r.outcome, r.status) for r in records_now]}; {said}"
    )

    # 5. accepted tasks are never lost: ids on errors, spend, budget, journal
    accepted = [r for r in records_now if r.outcome == "accepted"]
    ambiguous = [r for r in records_now if r.outcome == "ambiguous"]
    by_prompt = {r.prompt: r.task_id for r in accepted}
    if outcome.target in ONE_IMAGE and outcome.raised is not None and accepted:
        error = outcome.raised
        assert getattr(error, "task_id", None) == accepted[-1].task_id, (
            f"[5 lost task id] accepted {accepted[-1].task_id!r}, error says "
            f"{getattr(error, 'task_id', None)!r}; {said}"
        )
        assert getattr(error, "maybe_accepted", False) is True, (
            f"[5 maybe_accepted] False after acceptance; {said}"
        )
    if outcome.target in ("batch", "abatch") and outcome.result is not None:
        for item in outcome.result:
            paid = by_prompt.get(item.request.prompt)
            if item.error is not None and paid is not None:
                assert getattr(item.error, "task_id", None) in {
                    r.task_id for r in accepted if r.prompt == item.request.prompt
                }, (
                    f"[5 lost task id] item {item.request.prompt!r} accepted as {paid!r}, "
                    f"error says {getattr(item.error, 'task_id', None)!r}; {said}"
                )
                assert getattr(item.error, "maybe_accepted", False) is True, (
                    f"[5 maybe_accepted] False after acceptance; {said}"
                )
    if outcome.target == "resume" and outcome.result is not None:
        report = outcome.result
        known = (
            {g.task_id for g in report.generations} | set(report.failed) | set(report.retry_later)
        )
        assert outcome.prepared in known, (
            f"[5 lost task] resume() says nothing of {outcome.prepared!r}: {report!r}; {said}"
        )
    client = outcome.client
    if client is not None:
        spent = client.spend.images - outcome.spend_before
        # WaveSpeed refunds a task that ends failed: the client takes those off (never more
        # than it was charged, and never one charged in another session: resume).
        refunded = client.spend.refunded - outcome.refunded_before
        paid = len(accepted) + (outcome.target == "resume")  # resume's task was paid before
        assert refunded <= paid, f"[5 refund] {refunded} refunds, {paid} paid; {said}"
        low, high = len(accepted) - refunded, len(accepted) + len(ambiguous) - refunded
        assert low <= spent <= high, (
            f"[5 spend] spend counts {spent} images; server accepted {len(accepted)} "
            f"({len(ambiguous)} ambiguous, {refunded} refunded); {said}"
        )
        client.max_spend = client.spend.dollars + klein_widget.PRICE_PER_IMAGE
        try:
            token = client.ledger.reserve(round(klein_widget.PRICE_PER_IMAGE * 1000), "image")
        except BudgetExceededError:
            raise AssertionError(
                f"[5 reservation leak] the budget is held by a finished call; {said}"
            ) from None
        client.ledger.release(token)
    if accepted and outcome.gallery is not None:
        gallery = Gallery(outcome.gallery)
        missing = [r.task_id for r in accepted if gallery.entry(r.task_id or "") is None]
        assert not missing, f"[5 not journaled] no gallery row for {missing}; {said}"

    # 6. images decode
    for generation in outcome.generations:
        problem = decode_problem(generation.image)
        assert problem is None, (
            f"[6 bogus image] {len(generation.image)} bytes returned for task "
            f"{generation.task_id}: {problem}; {said}"
        )

    # 7. the key stays secret
    texts = [t for e in outcome.errors for t in error_texts(e)]
    if outcome.target == "resume" and outcome.result is not None:
        texts += [repr(outcome.result), *outcome.result.failed.values()]
        texts += list(outcome.result.retry_later.values())
    texts += [repr(g) for g in outcome.generations]
    for secret in secrets:
        leaked = [t for t in texts if secret in t]
        assert not leaked, f"[7 key in error text] {leaked[0][:300]!r}"
        logged = [t for t in log_texts(records) if secret in t]
        assert not logged, f"[7 key in log] {logged[0][:300]!r}"
    leaks = gallery_leaks(outcome.gallery, secrets)
    assert not leaks, f"[7 key in gallery] {leaks}"
    sent_away = [
        r.path
        for r in servers.img.requests
        if any(
            s in " ".join(r.headers.values()) + r.path + r.body.decode("latin-1") for s in secrets
        )
    ]
    assert not sent_away, f"[7 key sent to another origin] {sent_away}"
