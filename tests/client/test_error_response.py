"""An `APIStatusError` keeps the answer it came in, redacted (as httpx's and openai's errors
keep theirs): status, headers without credentials, the body capped, the request id."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from klein_widget import APIStatusError
from tests.client.conftest import MakeClient
from tests.conftest import FAKE_KEY

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
PADDING = 100_000  # bytes of body after the message


async def refuse(request: Request) -> Response:
    """A 400 that echoes the key it was sent in a header, a cookie and the body."""
    echoed = request.headers["authorization"]
    body = f'{{"code": 400, "message": "size not allowed ({echoed})", "pad": "{"x" * PADDING}"}}'
    return Response(
        body,
        status_code=400,
        media_type="application/json",
        headers={"x-request-id": "req-4711", "x-echo": echoed, "set-cookie": f"s={echoed}"},
    )


ECHOING = Starlette(routes=[Route(SUBMIT, refuse, methods=["POST"])])


async def test_a_status_error_keeps_the_redacted_answer(make_client: MakeClient) -> None:
    klein = make_client(app=ECHOING)
    with pytest.raises(APIStatusError) as caught:
        await klein("generate", "a fox", width=256, height=256, seed=1)

    error = caught.value
    assert error.status_code == 400
    assert error.response is not None
    assert error.response.status_code == 400
    assert error.request_id == "req-4711"
    headers = error.response.headers
    assert "set-cookie" not in headers
    assert headers["x-echo"] == "Bearer [redacted]"
    assert error.body is not None
    assert error.body.startswith('{"code": 400, "message": "size not allowed (Bearer [redacted])"')
    assert len(error.body) == 4096 - len(FAKE_KEY) + len("[redacted]")  # capped, then redacted
    assert all(FAKE_KEY not in value for value in headers.values())
    with pytest.raises(RuntimeError):  # no request kept: it carried the key
        _ = error.response.request
    assert klein.client.spend.images == 0  # a 400 is a refusal: not billed
