"""Property tests: any input builds a valid request or raises InvalidRequestError, and
nothing invalid ever reaches the server."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from klein_widget import GenerationRequest, InvalidRequestError, KleinClient
from klein_widget.client._models import MAX_SEED, MAX_SIDE, MIN_SIDE
from klein_widget.emulator import create_app
from tests.conftest import FAKE_KEY, TEST_URL, fast_options

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.integers(min_value=MIN_SIDE - 20, max_value=MAX_SIDE + 20),
    st.integers(min_value=-3, max_value=MAX_SEED + 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just(1024.0),
    st.text(max_size=8),
    st.just("1024"),
    st.lists(st.integers(), max_size=2),
)


def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any] = anything) -> Any:
    """Valid three times in four, so that whole valid requests are common too."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda ok: valid if ok else other)


sides = mostly(st.integers(min_value=MIN_SIDE, max_value=MAX_SIDE))
small_sides = mostly(st.integers(min_value=MIN_SIDE, max_value=400))
seeds = mostly(st.integers(min_value=-1, max_value=MAX_SEED))
flags = mostly(st.booleans())
# Any text at all, lone surrogates and control characters included.
odd_prompts = st.one_of(
    st.text(alphabet=st.characters(codec=None), max_size=60),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Zs"]), max_size=5),
    st.none(),
    st.integers(),
    st.just("  a red fox  "),
)
prompts = mostly(st.text(min_size=1, max_size=60).filter(str.strip), odd_prompts)


def check_valid(request: GenerationRequest) -> None:
    assert isinstance(request.prompt, str)
    assert request.prompt == request.prompt.strip() != ""
    request.prompt.encode("utf-8")
    for side in (request.width, request.height):
        assert type(side) is int
        assert MIN_SIDE <= side <= MAX_SIDE
    assert type(request.seed) is int
    assert -1 <= request.seed <= MAX_SEED
    assert GenerationRequest.from_json(request.to_json()) == request


@settings(max_examples=400, deadline=None)
@given(prompt=prompts, width=sides, height=sides, seed=seeds, sync=flags, b64=flags)
def test_any_input_builds_a_valid_request_or_raises_invalid_request(
    prompt: Any, width: Any, height: Any, seed: Any, sync: Any, b64: Any
) -> None:
    error: InvalidRequestError | None = None
    try:
        request = GenerationRequest(prompt, width, height, seed, sync, b64)
    except InvalidRequestError as caught:
        error = caught
    if error is None:
        check_valid(request)
    else:  # it names the field and says what is allowed
        assert error.field in {"prompt", "width", "height", "seed", "sync_mode", "base64_output"}
        assert str(error)


@settings(max_examples=200, deadline=None)
@given(body=st.dictionaries(st.sampled_from(["prompt", "size", "seed"]), anything | prompts))
def test_any_submit_body_is_parsed_or_refused_as_invalid(body: dict[str, Any]) -> None:
    try:
        request = GenerationRequest.from_json(body)
    except InvalidRequestError:
        return
    check_valid(request)


def test_the_client_never_sends_an_invalid_request() -> None:
    app = create_app(inference_time=0.0)
    emulator = app.state.emulator
    bodies: list[dict[str, Any]] = []

    def capture(request: httpx.Request) -> None:
        if request.method == "POST":
            bodies.append(json.loads(request.read()))

    outcome = {"valid": 0, "invalid": 0}
    with TestClient(app, base_url=TEST_URL) as http:
        http.event_hooks = {"request": [capture], "response": []}
        client = KleinClient(FAKE_KEY, TEST_URL, http_client=http, gallery=False, **fast_options())

        @settings(
            max_examples=150,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(prompt=prompts, width=small_sides, height=small_sides, seed=seeds)
        def drive(prompt: Any, width: Any, height: Any, seed: Any) -> None:
            before = len(bodies)
            try:
                gen = client.generate(prompt, width=width, height=height, seed=seed)
            except InvalidRequestError:
                assert len(bodies) == before  # refused before anything was sent
                outcome["invalid"] += 1
                return
            assert len(bodies) == before + 1
            assert gen.seed != -1
            assert gen.size == (width, height)
            outcome["valid"] += 1

        drive()

    for body in bodies:
        check_valid(GenerationRequest.from_json(body))
        assert body["seed"] != -1  # drawn client-side, always sent concrete
    assert len(bodies) == outcome["valid"] == emulator.accepted
    assert emulator.count(status=400) == 0
    assert outcome["valid"] > 0
    assert outcome["invalid"] > 0
