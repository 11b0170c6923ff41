"""The upload protocol on the hostile servers, and the invariants an upload keeps.

`UploadHost` answers ``POST /api/v3/media/uploads`` on the API server (a ticket whose PUT
URL and download URL are on the *other* origin, as WaveSpeed's storage is) and the PUT on
the other server, each from a script of `Answer`s first (the server's ``rule`` hook; the
servers themselves are unchanged), then normally. `run_upload` drives one client call
(``sync`` / ``async``: `_upload_references` on a fresh client; ``edit`` / ``aedit``: the
public ``edit()`` on the 9B edit model, which uploads and then submits) bounded like
every hostile call; `check_upload_invariants` asserts what a failed upload promises:

1. it ends within its ``timeout`` plus `SLACK` (no image is downloaded, so no grace);
2. only `KleinError`s escape, with a message, saying nothing was submitted, and never
   ``maybe_accepted`` (an upload is no task);
3. nothing is submitted: no request to any model's path reaches either server, and no
   spend or budget is touched;
4. the key goes only with the ticket: no request to the other origin, and no PUT anywhere,
   carries it (headers, path or body), and no error text holds it;
5. no local file path, file name or folder name appears in any request either server got.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from klein_widget import KleinClient, KleinError
from klein_widget.client._family import MODELS, resolve_model
from klein_widget.client._models import GenerationRequest
from klein_widget.client._references import to_references
from tests.hostile.harness import (
    KEY,
    PROMPTS,
    SECRETS,
    SEED,
    SLACK,
    TIMEOUT,
    Outcome,
    Servers,
    bounded,
    error_texts,
    make_client,
    new_gallery,
)
from tests.hostile.server import Answer, Request, envelope, json_answer

UPLOAD_PATH = "/api/v3/media/uploads"
EDIT = resolve_model("9b", edit=True)  # the hostile server takes its submits
PUT_PREFIX = "/put/"
FILE_PREFIX = "/files/"
_tokens = itertools.count(1)


def ticket(
    put_url: str = "%IMG%" + PUT_PREFIX + "{n}",
    download_url: str = "%IMG%" + FILE_PREFIX + "{n}/reference.png",
    headers: dict[str, str] | None = None,
    method: str = "PUT",
) -> Answer:
    """A ticket answer (``{n}``: a fresh token)."""
    n = next(_tokens)
    upload = {
        "method": method,
        "url": put_url.format(n=n),
        "headers": {"Content-Type": "image/png"} if headers is None else headers,
    }
    data = {"upload": upload, "download_url": download_url.format(n=n)}
    return json_answer(envelope(data))


@dataclass
class UploadHost:
    """Scripted answers for tickets (API server) and PUTs (wherever a ticket points)."""

    servers: Servers
    tickets: deque[Answer] = field(default_factory=deque)
    puts: deque[Answer] = field(default_factory=deque)
    order: list[str] = field(default_factory=list)  # every request to either server, in order

    def install(self) -> UploadHost:
        self.servers.api.rule = self._answer
        self.servers.img.rule = self._answer
        return self

    def script(self, tickets: Iterable[Answer] = (), puts: Iterable[Answer] = ()) -> None:
        for queue, answers in ((self.tickets, tickets), (self.puts, puts)):
            for answer in answers:
                queue.extend([answer] * max(1, answer.repeat))

    def _answer(self, request: Request) -> Answer | None:
        self.order.append("submit" if request.route == "submit" else request.method)
        if request.method == "POST" and request.path.split("?")[0] == UPLOAD_PATH:
            return self.tickets.popleft() if self.tickets else ticket()
        if request.method == "PUT":
            return self.puts.popleft() if self.puts else Answer(200)
        return None  # everything else: the servers' own answers

    def count(self, kind: str) -> int:
        """Tickets asked for ("ticket") or PUTs received ("put"), on both servers."""
        everything = self.servers.api.requests + self.servers.img.requests
        if kind == "ticket":
            return sum(1 for r in everything if r.method == "POST" and r.path == UPLOAD_PATH)
        return sum(1 for r in everything if r.method == "PUT")


def run_upload(
    kind: str,
    servers: Servers,
    images: Any,
    *,
    timeout: float = TIMEOUT,
    key: str = KEY,
) -> Outcome:
    """One `_upload_references` call on a fresh ``kind`` client, bounded (the client is
    made before: the bound is the call's, not the gallery's set-up)."""
    outcome = Outcome(kind, timeout, int(kind in ("edit", "aedit")), gallery=new_gallery())
    budget = EDIT.reserve_mills / 1000  # one edit's worth: an upload must leave it untouched
    kind_of_client = "async" if kind in ("async", "aedit") else "sync"
    folder = outcome.gallery or Path()
    client = make_client(kind_of_client, servers, folder, timeout=timeout, key=key,
                         max_spend=budget)  # fmt: skip
    outcome.client = client

    def call() -> Any:
        if kind in ("edit", "aedit"):
            return edit(client, images, timeout)
        references = to_references(images)
        run = client._start(GenerationRequest("an edit"), timeout, None)
        if kind == "sync":
            with client:
                return client._upload_references(references, run)

        async def upload() -> Any:
            async with client:
                return await client._upload_references(references, run)

        return asyncio.run(upload())

    bounded(call, servers, outcome)
    if outcome.raised is not None:
        outcome.errors.append(outcome.raised)
    return outcome


def edit(client: Any, images: Any, timeout: float) -> Any:
    """``client.edit(...)`` of ``images`` on the 9B edit model, closing the client after."""
    options = {"model": EDIT.weights, "seed": SEED, "timeout": timeout}
    if isinstance(client, KleinClient):
        with client:
            return client.edit(PROMPTS[0], images, **options)

    async def edited() -> Any:
        async with client:
            return await client.edit(PROMPTS[0], images, **options)

    return asyncio.run(edited())


SUBMIT_PATHS = frozenset(m.path for m in MODELS)


def request_text(request: Request) -> str:
    return " ".join([request.path, *request.headers.values(), request.body.decode("latin-1")])


def check_upload_invariants(
    outcome: Outcome, servers: Servers, *, local: Iterable[str] = (), slack: float = SLACK
) -> None:
    """Assert the five invariants of the module docstring."""
    said = outcome.describe()
    # 1. time
    assert outcome.finished, f"[1 deadline] still running after {outcome.elapsed:.1f} s; {said}"
    bound = outcome.timeout + slack
    assert outcome.elapsed <= bound, f"[1 deadline] {outcome.elapsed:.2f} s > {bound:g} s; {said}"
    # 2. errors
    for error in outcome.errors:
        assert isinstance(error, KleinError), f"[2 raw] {type(error).__name__}: {error}; {said}"
        assert "Nothing was submitted or billed" in error.message, f"[2 message] {said}"
        assert error.maybe_accepted is False, f"[2 maybe_accepted] {said}"
        assert error.task_id is None, f"[2 task id] {said}"
    # 3. nothing submitted, nothing spent
    everything = servers.api.requests + servers.img.requests
    submitted = [r.path for r in everything if r.path.split("?")[0].rstrip("/") in SUBMIT_PATHS]
    assert not submitted, f"[3 submit after upload] {submitted}; {said}"
    client = outcome.client
    if client is not None:
        assert client.spend.images == 0, f"[3 spent] {client.spend}; {said}"
        token = client.ledger.reserve(EDIT.reserve_mills, "image")  # the budget is free
        client.ledger.release(token)
    # 4. the key: with the ticket only
    for request in everything:
        carries = any(secret in request_text(request) for secret in SECRETS)
        ticket_to_api = request in servers.api.requests and request.path == UPLOAD_PATH
        assert not carries or ticket_to_api, (
            f"[4 key sent] {request.method} {request.path} on "
            f"{'api' if request in servers.api.requests else 'the other origin'}; {said}"
        )
    for error in outcome.errors:
        for text in error_texts(error):
            assert not any(s in text for s in SECRETS), f"[4 key in error] {text[:300]!r}"
    # 5. no local path
    for request in everything:
        for name in local:
            assert name not in request_text(request), (
                f"[5 local path] {name!r} in {request.method} {request.path}; {said}"
            )
