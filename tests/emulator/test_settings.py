"""The emulator's knobs are declared once (`Settings`) and every way in reads them."""

from __future__ import annotations

import dataclasses

import pytest

from klein_widget.emulator import Emulator, Faults, Settings, create_app
from klein_widget.emulator._settings import CONFIGURABLE


def test_create_app_takes_settings_or_keywords_alike() -> None:
    settings = Settings(inference_time=0.05, concurrency=3, api_key="k", tier="bronze")
    by_object: Emulator = create_app(settings).state.emulator
    by_name: Emulator = create_app(
        inference_time=0.05, concurrency=3, api_key="k", tier="bronze"
    ).state.emulator
    for emu in (by_object, by_name):
        # The tier fills only what was not given.
        assert (emu.inference_time, emu.concurrency, emu.rate_limit, emu.api_key) == (
            0.05,
            3,
            2,
            "k",
        )
    over: Emulator = create_app(settings, concurrency=7).state.emulator
    assert over.concurrency == 7


def test_every_setting_but_the_seed_is_configurable_live() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    assert names - CONFIGURABLE == {"seed"}
    emu = Emulator()
    emu.configure(faults=Faults(fail_rate=1.0), max_body_bytes=10, queue_time=0.5)
    assert (emu.faults.fail_rate, emu.max_body_bytes, emu.queue_time) == (1.0, 10, 0.5)


@pytest.mark.parametrize(
    ("knobs", "says"),
    [
        ({"speed": 2}, "unknown emulator knob"),
        ({"inference_time": "fast"}, "inference_time must be a number"),
        ({"connection_round_trips": 1.5}, "connection_round_trips must be a whole number"),
        ({"tier": "platinum"}, "tier must be one of"),
        ({"faults": 0.5}, "faults must be a Faults"),
    ],
)
def test_a_bad_knob_is_refused_the_same_way_everywhere(knobs: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        create_app(**knobs)
    with pytest.raises(ValueError, match=says):
        Emulator(**knobs)
    with pytest.raises(ValueError, match=says):
        Emulator().configure(**knobs)


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().inference_time = 1.0  # type: ignore[misc]
