"""The emulator's knobs are declared once (`Settings`) and every way in reads them."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import typing_extensions

from klein_widget.emulator import (
    Emulator,
    FaultRates,
    Faults,
    Knobs,
    LiveKnobs,
    Settings,
    StartKnobs,
    create_app,
    start,
)
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


def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def test_the_typed_knobs_are_the_settings_fields() -> None:
    # `Knobs` is what type checkers see for ``**knobs``; `Settings` is the rule. Equal names
    # and types, so a knob added to one and not the other fails here.
    settings = {f.name: _hints(Settings)[f.name] for f in dataclasses.fields(Settings)}
    assert _hints(Knobs) == settings
    assert set(LiveKnobs.__annotations__) | {"seed"} == set(Knobs.__annotations__)
    assert set(_hints(LiveKnobs)) == CONFIGURABLE
    rates = {f.name: _hints(Faults)[f.name] for f in dataclasses.fields(Faults)}
    assert _hints(FaultRates) == rates
    # (``Unpack`` is imported for type checkers only: given here to read the signature.)
    app = typing.get_type_hints(create_app, localns={"Unpack": typing_extensions.Unpack})
    assert _hints(StartKnobs) == {
        **settings,
        **rates,
        "packs": app["packs"],
        "simulated": app["simulated"],
    }
    for cls in (LiveKnobs, Knobs, FaultRates, StartKnobs):
        assert not cls.__required_keys__  # every knob may be left out


def test_start_gathers_the_fault_rates_into_faults() -> None:
    with start(port=0, inference_time=0.01, fail_rate=0.5, nsfw_rate=0.25, seed=4) as running:
        emu = running.emulator
        assert (emu.faults.fail_rate, emu.faults.nsfw_rate, emu.seed) == (0.5, 0.25, 4)
    with pytest.raises(ValueError, match="unknown emulator knob"):
        start(port=0, **{"speed": 2})
