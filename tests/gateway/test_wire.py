"""The emulator and the gateway write one wire format (issue 27): the same prediction
fields in the same order, and the same words for a bad prompt-optimizer body."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from klein_widget.emulator import RunningEmulator, start
from klein_widget.gateway import RunningGateway
from tests.gateway import loopback
from tests.stopping import stopped_later

from .conftest import ENHANCE, FAST, SUBMIT, bearer, body


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with stopped_later(start(inference_time=FAST)) as running:
        yield running


def test_both_servers_write_a_prediction_alike(
    gateway: RunningGateway, ada: str, emulator: RunningEmulator
) -> None:
    asked = body(enable_sync_mode=True)
    ours = loopback.post(gateway.base_url + SUBMIT, json=asked, headers=bearer(ada)).json()["data"]
    theirs = loopback.post(emulator.base_url + SUBMIT, json=asked).json()["data"]
    # Each server's own extra after WaveSpeed's fields: the gateway's "gateway", the
    # emulator's simulated "price_mills".
    assert [key for key in ours if key != "gateway"] == [k for k in theirs if k != "price_mills"]
    for data, base in ((ours, gateway.base_url), (theirs, emulator.base_url)):
        assert data["status"] == "completed"
        assert data["urls"]["get"] == f"{base}/api/v3/predictions/{data['id']}/result"
        assert data["created_at"].endswith("Z")
        assert data["has_nsfw_contents"] == [False]
        assert data["timings"]["inference"] > 0
        assert data["error"] == ""


@pytest.mark.parametrize(
    "wrong",
    [{}, {"text": ""}, {"text": "   "}, {"text": 3}, {"text": "a fox", "style": "cubist"},
     {"text": "a fox", "enable_sync_mode": "yes"}],
)  # fmt: skip
def test_both_servers_refuse_a_bad_optimizer_body_in_the_same_words(
    gateway: RunningGateway, ada: str, emulator: RunningEmulator, wrong: dict[str, object]
) -> None:
    ours = loopback.post(gateway.base_url + ENHANCE, json=wrong, headers=bearer(ada))
    theirs = loopback.post(emulator.base_url + ENHANCE, json=wrong)
    assert (ours.status_code, theirs.status_code) == (400, 400)
    assert ours.json()["message"] == theirs.json()["message"]
    assert gateway.gateway.db.student("ada").spent_mills == 0  # type: ignore[union-attr]
