"""The client's uploads (`client/_async_uploads.py` and its generated blocking twin) and
price look-up against the emulator, in-process and over loopback, sync and async: one
upload per distinct image per client, URLs passed through, the key on the ticket only,
a failed upload raising before any submit."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from klein_widget import AsyncKleinClient, KleinClient
from klein_widget.client._exceptions import (
    APIStatusError,
    AuthenticationError,
    GenerationTimeoutError,
    InvalidRequestError,
    KleinError,
)
from klein_widget.client._family import resolve_model
from klein_widget.client._models import GenerationRequest
from klein_widget.client._references import to_references
from klein_widget.emulator import RunningEmulator, create_app, start
from tests.conftest import fast_options
from tests.emulator.kinds import BARN, FOX, KEY, URL, Make, make
from tests.stopping import stopped_later

TICKET = "/api/v3/media/uploads"
PUT = "/emulator/uploads/*"

__all__ = ["make"]  # the fixture (tests/emulator/kinds.py), used by name


class PoolAuth(httpx.Auth):
    """Credentials a user's own pool adds to every request it sends."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = "Bearer the-pools-own-credential"
        yield request


@pytest.fixture
def app() -> Starlette:
    """An emulator that wants the key (so a ticket without it would be refused)."""
    return create_app(inference_time=0.01, api_key=KEY)


async def test_each_distinct_image_is_uploaded_once_per_client(make: Make, app: Starlette) -> None:
    emu = app.state.emulator
    client = make(app)
    cdn = "https://cdn.example.com/cat.png"
    urls = await client.upload([FOX, cdn, BARN, FOX])
    assert urls[1] == cdn  # passed through, nothing sent for it
    assert urls[0] == urls[3] != urls[2]
    assert (emu.count("POST", TICKET), emu.count("PUT", PUT, status=200)) == (2, 2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=URL) as bare:
        assert (await bare.get(urls[0])).content == FOX  # the bytes, as uploaded
        assert (await bare.get(urls[2])).content == BARN
    assert await client.upload([BARN]) == (urls[2],)  # the same client: from its cache
    assert emu.count("POST", TICKET) == 2
    await make(app).upload([BARN])  # another client uploads its own
    assert emu.count("POST", TICKET) == 3
    assert emu.accepted == 0  # an upload is not a paid submit
    assert emu.billed_mills == 0


async def test_the_key_goes_to_the_ticket_never_to_the_put(make: Make, app: Starlette) -> None:
    """The emulator refuses a PUT that carries an Authorization header (400), and a ticket
    without the key (401): both pass, even when the pool itself adds a key to every request."""
    emu = app.state.emulator
    for headers in (None, {"Authorization": f"Bearer {KEY}"}):
        await make(app, headers=headers).upload([FOX])
    assert emu.count("PUT", PUT, status=200) == 2
    assert emu.count("PUT", PUT, status=400) == 0


async def test_not_even_the_pools_own_auth_goes_with_the_put(make: Make) -> None:
    """A pool with credentials of its own (an ``httpx.Auth``): the ticket may carry them
    (this emulator wants no particular key), the PUT never does."""
    keyless = create_app(inference_time=0.01)
    await make(keyless, auth=PoolAuth()).upload([FOX])
    assert keyless.state.emulator.count("PUT", PUT, status=200) == 1


async def test_concurrent_calls_upload_an_image_once(make: Make, app: Starlette) -> None:
    client = make(app)
    urls = await asyncio.gather(*(client.upload([FOX]) for _ in range(4)))
    assert len(set(urls)) == 1
    assert app.state.emulator.count("POST", TICKET) == 1


async def test_a_passing_failure_is_tried_again_for_free(make: Make, app: Starlette) -> None:
    emu = app.state.emulator
    emu.script("upload", 503, "ok", 502)  # the ticket, then the PUT
    (url,) = await make(app).upload([FOX])
    assert url.startswith(URL)
    assert emu.count("POST", TICKET) == 2
    assert emu.count("PUT", PUT) == 2


@pytest.mark.parametrize(
    ("script", "error", "says"),
    [
        ((401,), AuthenticationError, "Uploading reference image 1 failed"),
        (("ok", 403), APIStatusError, "the upload host refused the bytes of reference image 1"),
        ((500,) * 8, APIStatusError, "Uploading reference image 1 failed: WaveSpeed answered 500"),
    ],
)
async def test_a_failed_upload_raises_and_nothing_is_cached(
    make: Make, app: Starlette, script: tuple[Any, ...], error: type[KleinError], says: str
) -> None:
    emu = app.state.emulator
    emu.script("upload", *script)
    client = make(app)
    with pytest.raises(error) as info:
        await client.upload([FOX])
    assert says in info.value.message
    assert "Nothing was submitted or billed" in info.value.message
    assert info.value.maybe_accepted is False
    assert KEY not in str(info.value)
    while emu.pending_script():  # what is left of the script: the next try goes through
        emu.next_fault("upload")
    await client.upload([FOX])
    assert emu.count("PUT", PUT, status=200) == 1
    assert emu.accepted == 0


def test_an_upload_past_the_deadline_says_so() -> None:
    """Over loopback (an in-process transport has no clock): every answer takes 2 s, the
    call has 0.3 s, and it ends at its deadline, before any ticket came back."""
    with stopped_later(start(port=0, inference_time=0.01, network_delay=4.0)) as live:
        for kind in (KleinClient, AsyncKleinClient):
            client = kind(KEY, live.base_url, gallery=False, **fast_options())
            run = client._start(GenerationRequest("x"), 0.3, None)
            with pytest.raises(GenerationTimeoutError, match="Gave up uploading reference"):
                upload_closing(client, run)
        assert live.emulator.count("PUT", PUT) == 0


def upload_closing(client: KleinClient | AsyncKleinClient, run: Any) -> Any:
    """Upload `FOX` with ``client`` (closed after), awaiting it if it is the async one."""
    references = to_references([FOX])
    if isinstance(client, KleinClient):
        with client:
            return client._upload_references(references, run)

    async def upload() -> Any:
        async with client:
            return await client._upload_references(references, run)

    return asyncio.run(upload())


async def test_without_a_key_on_wavespeed_nothing_is_sent(make: Make) -> None:
    client = make(create_app(), key=None)
    client.client.base_url = "https://api.wavespeed.ai"  # a host that needs a key
    with pytest.raises(AuthenticationError, match="No WaveSpeed API key"):
        await client.upload([FOX])
    assert await client.call("model_price", "9b") is None


async def test_model_price_reads_the_endpoint_and_the_ledger_uses_it(
    make: Make, app: Starlette
) -> None:
    client = make(app)
    nine = resolve_model("9b")
    assert client.client.ledger.price_for(nine) == (16, False)
    assert await client.call("model_price", "9b-edit") == 16  # published: the emulator's
    # An unconfirmed price: the emulator says it guesses, and the ledger keeps "unconfirmed".
    assert await client.call("model_price", "9b") is None
    assert client.client.ledger.price_for(nine) == (16, False)
    with pytest.raises(InvalidRequestError):
        await client.call("model_price", "12b")


async def test_a_price_the_server_names_is_used_from_then_on(make: Make) -> None:
    app = create_app(inference_time=0.01, api_key=KEY)
    edit4 = resolve_model("4b-edit")

    async def priced(request: Request) -> JSONResponse:
        return JSONResponse({"code": 200, "message": "success", "data": {"price": 0.012}})

    app.router.routes.insert(0, Route("/api/v3/model/price", priced, methods=["POST"]))
    client = make(app)
    assert await client.call("model_price", edit4) == 12
    assert client.client.ledger.price_for(edit4) == (12, True)


async def test_model_price_never_raises_for_a_bad_answer(make: Make) -> None:
    client = make(create_app(inference_time=0.01, api_key="another-key-entirely"))
    assert await client.call("model_price", "9b") is None  # 401
    assert await client.call("model_price", "9b", wait=0) is None  # no time: not asked
    assert client.client.ledger.price_for(resolve_model("9b")) == (16, False)


def test_over_loopback_both_clients_upload_and_the_bytes_arrive(tmp_path: Path) -> None:
    picture = tmp_path / "holiday photo.png"
    picture.write_bytes(FOX)
    with stopped_later(start(port=0, inference_time=0.01, api_key=KEY)) as live:
        with KleinClient(KEY, live.base_url, gallery=False, **fast_options()) as client:
            run = client._start(GenerationRequest("x"), 5.0, None)
            (url,) = client._upload_references(to_references([picture]), run)
        assert "holiday" not in url  # the neutral name travelled, not the file's
        assert httpx.get(url).content == FOX

        async def upload() -> tuple[str, ...]:
            async with AsyncKleinClient(KEY, live.base_url, gallery=False) as aclient:
                arun = aclient._start(GenerationRequest("x"), 5.0, None)
                return await aclient._upload_references(to_references([BARN]), arun)

        (aurl,) = asyncio.run(upload())
        assert httpx.get(aurl).content == BARN
        assert live.emulator.count("PUT", PUT, status=200) == 2
        assert_no_key_put(live)


def assert_no_key_put(live: RunningEmulator) -> None:
    assert live.emulator.count("PUT", PUT, status=400) == 0
