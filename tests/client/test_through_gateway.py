"""A student's client through a real class gateway (issue 26): a free fixed-seed repeat (the
gateway answers ``"cached": true``) costs $0 in the spend and the printed line, and a budget
refusal (402) is a `BudgetExceededError` naming the gateway: exit code 4 from ``klein``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from klein_widget import BudgetExceededError, KleinClient
from klein_widget.cli._main import main
from klein_widget.emulator import Faults, create_app
from klein_widget.gateway import RunningGateway, start
from klein_widget.gateway._state import export_pack, images_folder
from klein_widget.ui._text import done_text
from tests.conftest import fast_options
from tests.stopping import stopped_later

SMALL = {"width": 256, "height": 256}


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[RunningGateway]:
    db = tmp_path / "class.sqlite3"
    with stopped_later(start(db, upstream="emulator", emulator_inference_time=0.02)) as gw:
        yield gw


def test_a_cached_repeat_costs_nothing(gateway: RunningGateway) -> None:
    ada = gateway.gateway.db.add_student("ada", 2000)
    bo = gateway.gateway.db.add_student("bo", 2000)
    with KleinClient(ada, gateway.base_url, gallery=False, **fast_options()) as first:
        made = first.generate("a red fox in the snow", seed=42, **SMALL)
    with KleinClient(bo, gateway.base_url, gallery=False, **fast_options()) as second:
        again = second.generate("a red fox in the snow", seed=42, **SMALL)
        spend = second.spend
    assert made.cost == 0.008
    assert again.prediction.cached
    assert again.cost == 0.0
    assert (spend.images, spend.mills, spend.reused) == (0, 0, 1)
    assert done_text(again, base_url=gateway.base_url).endswith("· $0.000 simulated")


def test_a_budget_refusal_names_the_gateway(gateway: RunningGateway) -> None:
    ada = gateway.gateway.db.add_student("ada", 8)  # one image
    with KleinClient(ada, gateway.base_url, gallery=False, **fast_options()) as client:
        client.generate("a red fox in the snow", seed=1, **SMALL)
        with pytest.raises(BudgetExceededError) as refused:
            client.generate("a red fox in the snow", seed=2, **SMALL)
        assert client.spend.mills == 8  # the refused one is not counted
    assert refused.value.message.startswith("The class gateway refused this request")
    assert "Your class budget" in refused.value.message
    assert "WaveSpeed" not in refused.value.message


def test_klein_exits_4_on_the_gateways_budget_refusal(
    gateway: RunningGateway,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ada = gateway.gateway.db.add_student("ada", 0)
    monkeypatch.setenv("WAVESPEED_BASE_URL", gateway.base_url)
    monkeypatch.setenv("WAVESPEED_API_KEY", ada)
    monkeypatch.setenv("KLEIN_GALLERY", str(tmp_path / "gallery"))
    out = str(tmp_path / "fox.png")
    assert main(["generate", "a fox", "-s", "3", "-W", "256", "-H", "256", "-o", out]) == 4
    err = capsys.readouterr().err
    assert "The class gateway refused this request" in err
    assert "WaveSpeed answered" not in err


def test_the_gateways_export_keeps_nsfw_flags_and_says_stand_in(tmp_path: Path) -> None:
    flagging = create_app(inference_time=0.02, faults=Faults(nsfw_rate=1.0))
    with stopped_later(start(tmp_path / "class.sqlite3", upstream=flagging)) as running:
        ada = running.gateway.db.add_student("ada", 2000)
        with KleinClient(ada, running.base_url, gallery=False, **fast_options()) as client:
            made = client.generate("a red fox in the snow", seed=4, **SMALL)
    assert made.nsfw
    manifest = export_pack(images_folder(tmp_path / "class.sqlite3"), tmp_path / "class.zip")
    (line,) = manifest["images"]
    assert line["nsfw"] is True
    assert line["simulated"] is True
