"""The klein family's table: names resolve, prices say where they come from, and the
single-model constants the rest of the package reads come from it."""

from __future__ import annotations

import dataclasses

import pytest

from klein_widget.client import _models
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import (
    DEFAULT_MODEL,
    HIGHEST_KNOWN_PRICE_MILLS,
    MODELS,
    PRICE_FROM_PAGE,
    PRICE_UNCONFIRMED,
    find_model,
    resolve_model,
)


def test_every_short_name_and_id_resolves_to_its_path() -> None:
    paths = {
        "4b": "wavespeed-ai/flux-2-klein-4b/text-to-image",
        "9b": "wavespeed-ai/flux-2-klein-9b/text-to-image",
        "4b-edit": "wavespeed-ai/flux-2-klein-4b/edit",
        "9b-edit": "wavespeed-ai/flux-2-klein-9b/edit",
        "4b-lora": "wavespeed-ai/flux-2-klein-4b/text-to-image-lora",
    }
    assert {m.name: m.id for m in MODELS} == paths
    for name, model_id in paths.items():
        assert resolve_model(name).id == model_id
        assert resolve_model(model_id).name == name
        assert resolve_model(name.upper()).name == name  # "9B" is what people type
        assert resolve_model(name).path == f"/api/v3/{model_id}"


def test_edit_true_gives_the_same_weights_edit_model() -> None:
    assert resolve_model("4b", edit=True).name == "4b-edit"
    assert resolve_model("9b", edit=True).id == "wavespeed-ai/flux-2-klein-9b/edit"
    assert resolve_model("9b-edit", edit=True).name == "9b-edit"
    with pytest.raises(InvalidRequestError, match="no edit model") as info:
        resolve_model("4b-lora", edit=True)
    assert info.value.field == "model"


@pytest.mark.parametrize("bad", ["12b", "", "wavespeed-ai/flux-2-dev", "4b "])
def test_an_unknown_name_is_refused_listing_the_known_ones(bad: str) -> None:
    if bad.strip() == "4b":  # surrounding blanks are forgiven
        assert resolve_model(bad) is DEFAULT_MODEL
        return
    with pytest.raises(InvalidRequestError) as info:
        resolve_model(bad)
    assert info.value.field == "model"
    for model in MODELS:
        assert repr(model.name) in str(info.value)
    assert find_model(bad) is None


def test_what_each_model_takes() -> None:
    takes = {m.name: (m.takes_images, m.max_images, m.takes_loras, m.max_loras) for m in MODELS}
    assert takes == {
        "4b": (False, 0, False, 0),
        "9b": (False, 0, False, 0),
        "4b-edit": (True, 4, False, 0),
        "9b-edit": (True, 4, False, 0),
        "4b-lora": (False, 0, True, 3),
    }
    for model in MODELS:
        assert (model.min_side, model.default_side, model.max_side) == (256, 1024, 1536)


def test_prices_say_where_they_come_from_and_budgets_reserve_the_highest() -> None:
    prices = {m.name: (m.price_mills, m.price_source) for m in MODELS}
    assert prices == {
        "4b": (8, PRICE_FROM_PAGE),
        "9b": (None, PRICE_UNCONFIRMED),
        "4b-edit": (None, PRICE_UNCONFIRMED),
        "9b-edit": (16, PRICE_FROM_PAGE),
        "4b-lora": (None, PRICE_UNCONFIRMED),
    }
    assert HIGHEST_KNOWN_PRICE_MILLS == 16
    assert resolve_model("4b").reserve_mills == 8
    assert resolve_model("9b").reserve_mills == 16
    assert not resolve_model("9b").price_confirmed
    assert resolve_model("9b-edit").price_confirmed


def test_the_single_model_constants_come_from_the_table() -> None:
    assert _models.MODEL_ID == DEFAULT_MODEL.id == "wavespeed-ai/flux-2-klein-4b/text-to-image"
    assert _models.PRICE_PER_IMAGE_MILLS == DEFAULT_MODEL.price_mills == 8
    assert _models.PRICE_PER_IMAGE == 0.008
    assert (_models.MIN_SIDE, _models.MAX_SIDE, _models.DEFAULT_SIDE) == (256, 1536, 1024)


def test_models_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_MODEL.price_mills = 1  # type: ignore[misc]
