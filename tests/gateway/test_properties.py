"""Whatever JSON a student sends, the gateway answers with an envelope and never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klein_widget.gateway import RunningGateway, start
from tests.gateway import loopback

from .conftest import ENHANCE, SUBMIT, bearer

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    ["prompt", "size", "seed", "enable_sync_mode", "enable_base64_output", "text", "mode", "x"]
)
bodies = st.dictionaries(fields, json_values | st.sampled_from(["512*512", "a fox", 7, -1]))


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningGateway, str]]:
    db = Path(tmp_path_factory.mktemp("gateway")) / "class.sqlite3"
    with start(db, upstream="emulator", emulator_inference_time=0.01, sync_window=2.0) as gw:
        yield gw, gw.gateway.db.add_student("ada", 10_000_000)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=bodies, path=st.sampled_from([SUBMIT, ENHANCE]))
def test_any_json_gets_an_envelope_never_a_5xx(
    shared: tuple[RunningGateway, str], payload: dict[str, Any], path: str
) -> None:
    gateway, token = shared
    r = loopback.post(gateway.base_url + path, json=payload, headers=bearer(token), timeout=30)
    assert r.status_code < 500, r.text
    answer = r.json()
    assert set(answer) == {"code", "message", "data"}
    if r.status_code == 200:
        assert answer["data"]["status"] in ("created", "processing", "completed")
    else:
        assert answer["code"] == r.status_code
        assert answer["message"]
