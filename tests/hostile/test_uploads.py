"""Issue 24, uploads on the hostile servers: every way a ticket or a PUT can go wrong ends
in a `KleinError` within the call's deadline, before any submit, with the key only ever on
the ticket and no local path in any request (`tests/hostile/uploads.py` says how)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from klein_widget import APIConnectionError, APIStatusError, AuthenticationError
from klein_widget.client._exceptions import GenerationTimeoutError
from tests.hostile.harness import (
    KEY,
    SLACK,
    STALL_TIMEOUT,
    TIMEOUT,
    Outcome,
    Servers,
    bounded,
    check_invariants,
    downloads,
    make_client,
    new_gallery,
)
from tests.hostile.server import PNG, Answer, envelope, json_answer
from tests.hostile.uploads import (
    FILE_PREFIX,
    PUT_PREFIX,
    UploadHost,
    check_upload_invariants,
    request_text,
    run_upload,
    ticket,
)

BOTH = ("sync", "async")  # `_upload_references` alone
EDITS = ("edit", "aedit")  # the public edit(): the upload, then (only if it worked) the submit
EVERY = BOTH + EDITS
HELD = 3.0  # a held or trickled answer lasts longer than TIMEOUT + SLACK (2.5 s)
ALWAYS = 20  # more answers than any retry policy tries


@pytest.fixture
def host(servers: Servers) -> UploadHost:
    servers.api.stream_seconds = servers.img.stream_seconds = HELD
    return UploadHost(servers).install()


@pytest.fixture
def private(tmp_path: Path) -> Path:
    """A picture whose path a server must never see."""
    folder = tmp_path / "Private-Folder-7q"
    folder.mkdir()
    picture = folder / "holiday-IMG-2291.png"
    picture.write_bytes(PNG)
    return picture


def secrets_of(path: Path) -> tuple[str, ...]:
    return (str(path), path.name, path.parent.name, "holiday")


@pytest.mark.parametrize("kind", BOTH)
def test_an_upload_goes_as_the_protocol_says(
    kind: str, servers: Servers, host: UploadHost, private: Path
) -> None:
    outcome = run_upload(kind, servers, [private, private, "https://cdn.example/a.png"])
    assert outcome.raised is None, outcome.describe()
    first, again, passed = outcome.result
    assert first == again  # one image, uploaded once
    assert first.startswith(servers.img.base_url + FILE_PREFIX)
    assert passed == "https://cdn.example/a.png"
    (ask,) = [r for r in servers.api.requests if r.method == "POST"]
    assert ask.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(ask.body) == {
        "filename": "reference-1.png",
        "size": len(PNG),
        "content_type": "image/png",
    }
    (put,) = [r for r in servers.img.requests if r.method == "PUT"]
    assert put.path.startswith(PUT_PREFIX)
    assert put.body == PNG
    assert put.headers["content-type"] == "image/png"  # exactly the ticket's headers
    assert "authorization" not in put.headers
    check_upload_invariants(outcome, servers, local=secrets_of(private))


@pytest.mark.parametrize("kind", BOTH)
def test_a_put_url_on_the_apis_own_host_still_gets_no_key(
    kind: str, servers: Servers, host: UploadHost
) -> None:
    host.script(tickets=[ticket(put_url="%BASE%" + PUT_PREFIX + "{n}")])
    outcome = run_upload(kind, servers, [PNG])
    assert outcome.raised is None, outcome.describe()
    (put,) = [r for r in servers.api.requests if r.method == "PUT"]
    assert "authorization" not in put.headers
    check_upload_invariants(outcome, servers)


TICKET_FAULTS = {
    "500": ([json_answer(b'{"message":"boom"}', 500, repeat=ALWAYS)], APIStatusError, None),
    "401": ([json_answer(b'{"message":"invalid key"}', 401)], AuthenticationError, 1),
    "429": ([json_answer(b"{}", 429, headers=(("Retry-After", "30"),))], APIStatusError, 1),
    # A gateway's page instead of JSON: asked again (free) until the retries are spent.
    "html": ([Answer(200, body=b"<html>gateway</html>", repeat=ALWAYS)], APIStatusError, None),
    "no upload": ([json_answer(envelope({"download_url": "http://x/y"}))], APIStatusError, 1),
    "POST": ([ticket(method="POST")], APIStatusError, 1),
    "ftp put": ([ticket(put_url="ftp://%IMG%/put/{n}")], APIStatusError, 1),
    "no download": ([ticket(download_url="")], APIStatusError, 1),
    "file download": ([ticket(download_url="file:///etc/passwd")], APIStatusError, 1),
    "js download": ([ticket(download_url="javascript:alert(1)")], APIStatusError, 1),
    "bad headers": ([ticket(headers={"X-Count": 3})], APIStatusError, 1),  # type: ignore[dict-item]
    "echoes key": ([ticket(headers={"Authorization": "%AUTH%"})], APIStatusError, 1),
    "dropped": ([Answer(drop="before", repeat=ALWAYS)], APIConnectionError, None),
    "reset": ([Answer(drop="reset", repeat=ALWAYS)], APIConnectionError, None),
}


@pytest.mark.parametrize("fault", sorted(TICKET_FAULTS))
@pytest.mark.parametrize("kind", EVERY)
def test_a_bad_ticket_raises_and_nothing_is_put(
    kind: str, fault: str, servers: Servers, host: UploadHost, private: Path
) -> None:
    answers, error, asked = TICKET_FAULTS[fault]
    host.script(tickets=answers)
    outcome = run_upload(kind, servers, [private])
    assert isinstance(outcome.raised, error), outcome.describe()
    if fault == "429":  # a Retry-After past the deadline: not waited for
        assert "Rate limited" in outcome.raised.message
    if asked is not None:  # refused for good: not asked again
        assert host.count("ticket") == asked, outcome.describe()
    assert host.count("put") == 0
    check_upload_invariants(outcome, servers, local=secrets_of(private))


PUT_FAULTS = {
    "403": ([Answer(403, body=b"<Error>SignatureDoesNotMatch</Error>")], APIStatusError, 1),
    "500": ([Answer(500, repeat=ALWAYS)], APIStatusError, None),
    "404": ([Answer(404)], APIStatusError, 1),
    "redirect": ([Answer(307, headers=(("Location", "%BASE%/elsewhere"),))], APIStatusError, 1),
    "reset": ([Answer(drop="reset", repeat=ALWAYS)], APIConnectionError, None),
    "dropped": ([Answer(drop="before", repeat=ALWAYS)], APIConnectionError, None),
}


@pytest.mark.parametrize("fault", sorted(PUT_FAULTS))
@pytest.mark.parametrize("kind", EVERY)
def test_a_failed_put_raises_before_any_submit(
    kind: str, fault: str, servers: Servers, host: UploadHost, private: Path
) -> None:
    answers, error, puts = PUT_FAULTS[fault]
    host.script(puts=answers)
    outcome = run_upload(kind, servers, [private])
    assert isinstance(outcome.raised, error), outcome.describe()
    if puts is not None:
        assert host.count("put") == puts, outcome.describe()
    check_upload_invariants(outcome, servers, local=secrets_of(private))


@pytest.mark.parametrize("kind", BOTH)
def test_a_put_that_fails_once_is_tried_again(
    kind: str, servers: Servers, host: UploadHost
) -> None:
    host.script(puts=[Answer(503), Answer(drop="reset")])
    outcome = run_upload(kind, servers, [PNG])
    assert outcome.raised is None, outcome.describe()
    assert host.count("put") == 3
    assert host.count("ticket") == 1  # the same ticket: a PUT is idempotent
    check_upload_invariants(outcome, servers)


SLOW = {
    "ticket held": ([Answer(hold=True)], []),
    "ticket trickle": ([json_answer(b" " * 64 + envelope({}), trickle=0.1)], []),
    "ticket late": ([Answer(delay=HELD)], []),
    "put held": ([], [Answer(hold=True)]),
    "put trickle": ([], [Answer(200, body=b"." * 64, trickle=0.1)]),
    "put late": ([], [Answer(200, delay=HELD)]),
}


@pytest.mark.parametrize("case", sorted(SLOW))
@pytest.mark.parametrize("kind", EVERY)
def test_a_slow_upload_ends_at_the_deadline(
    kind: str, case: str, servers: Servers, host: UploadHost
) -> None:
    tickets, puts = SLOW[case]
    host.script(tickets=tickets, puts=puts)
    outcome = run_upload(kind, servers, [PNG], timeout=STALL_TIMEOUT)  # waited out
    assert isinstance(outcome.raised, GenerationTimeoutError), outcome.describe()
    assert "Gave up uploading reference image 1" in outcome.raised.message
    assert outcome.elapsed <= STALL_TIMEOUT + SLACK
    check_upload_invariants(outcome, servers)


def test_the_bound_is_checked(servers: Servers, host: UploadHost) -> None:
    """The time check fails a call that outlives its bound (here: told a shorter one)."""
    host.script(tickets=[Answer(delay=0.3)])
    outcome = run_upload("sync", servers, [PNG], timeout=1.0)
    assert outcome.raised is None, outcome.describe()
    outcome.timeout = 0.0
    with pytest.raises(AssertionError, match="1 deadline"):
        check_upload_invariants(outcome, servers, slack=0.1)


@pytest.mark.parametrize("kind", EVERY)
def test_a_refused_reference_sends_nothing(
    kind: str, servers: Servers, host: UploadHost, tmp_path: Path
) -> None:
    for images in ([PNG, b"not an image"], [PNG, tmp_path / "missing.png"], [PNG] * 5):
        outcome = run_upload(kind, servers, images)
        assert outcome.raised is not None
        assert outcome.raised.field == "images"  # type: ignore[attr-defined]
        assert servers.api.requests == []
        assert servers.img.requests == []


# --- through edit(): the upload, then the one paid submit ----------------------------------


@pytest.mark.parametrize("kind", EDITS)
def test_an_edit_uploads_then_submits_once(
    kind: str, servers: Servers, host: UploadHost, private: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = run_upload(kind, servers, [private, PNG, "https://cdn.example/b.png"])
    outcome.downloads = downloads(servers)
    assert outcome.raised is None, outcome.describe()
    check_invariants(outcome, servers, caplog.records)
    (submit,) = [r for r in servers.api.requests if r.route == "submit"]
    puts = [r for r in servers.img.requests if r.method == "PUT"]
    assert len(puts) == 1  # the path and the bytes are one image: uploaded once
    sent = json.loads(submit.body)
    assert sent["images"][0] == sent["images"][1]
    assert sent["images"][0].startswith(servers.img.base_url + FILE_PREFIX)
    assert sent["images"][2] == "https://cdn.example/b.png"
    assert "size" not in sent  # the output keeps the first reference's size
    assert host.order[:3] == ["POST", "PUT", "submit"]  # the ticket, the bytes, then paid
    assert outcome.result.request.images == tuple(sent["images"])
    assert outcome.client.spend.images == 1
    check_upload_invariants_but_submits(outcome, servers, private)


def check_upload_invariants_but_submits(outcome: Outcome, servers: Servers, private: Path) -> None:
    """The key and the path, as `check_upload_invariants` checks them, for a call that
    rightly submitted."""
    for request in servers.img.requests:
        assert KEY not in request_text(request), request.path
    for request in servers.api.requests + servers.img.requests:
        for name in secrets_of(private):
            assert name not in request_text(request), (request.method, request.path)


PRICE_ANSWERS = {
    "held": Answer(hold=True),
    "trickle": json_answer(envelope({"price": 0.012}), trickle=0.1),
    "500": json_answer(b"{}", 500),
    "html": Answer(200, body=b"<html>gateway</html>"),
    "no price": json_answer(envelope({"price": "ask sales"})),
    "key echoed": json_answer(b'{"message":"bad key %AUTH%"}', 401),
}


@pytest.mark.parametrize("case", sorted(PRICE_ANSWERS))
@pytest.mark.parametrize("kind", BOTH)
def test_a_price_look_up_never_raises_nor_outlives_its_wait(
    kind: str, case: str, servers: Servers
) -> None:
    """``model_price`` is a correction: whatever the endpoint does, None within ``wait``."""
    servers.api.stream_seconds = HELD
    answer = PRICE_ANSWERS[case]
    servers.api.rule = lambda r: answer if r.path == "/api/v3/model/price" else None
    client = make_client(kind, servers, new_gallery(), timeout=TIMEOUT)
    outcome = Outcome(kind, 0.5, 0)

    def ask() -> object:
        if kind == "sync":
            with client:
                return client.model_price("9b", wait=0.5)

        async def asked() -> object:
            async with client:
                return await client.model_price("9b", wait=0.5)

        return asyncio.run(asked())

    bounded(ask, servers, outcome)
    assert outcome.raised is None, outcome.describe()
    assert outcome.result is None
    assert outcome.elapsed <= 0.5 + SLACK, outcome.describe()
    assert client.prices.mills("9b") == 16  # still the family's highest, unconfirmed
    assert not client.prices.confirmed("9b")
