"""Requests, predictions and embedded metadata: pure data."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from PIL import Image

from klein_widget import BudgetExceededError, GenerationRequest, InvalidRequestError, Prediction
from klein_widget.client._ledger import Ledger
from klein_widget.client._metadata import detect_format, embed_params, read_params
from klein_widget.client._models import parse_size


def test_request_body_is_flat_with_size_string() -> None:
    request = GenerationRequest("a red fox", width=768, height=512, seed=42, sync_mode=True)
    assert request.to_json() == {
        "prompt": "a red fox",
        "size": "768*512",
        "seed": 42,
        "enable_sync_mode": True,
        "enable_base64_output": False,
    }


def test_defaults_are_1024_square_and_random_seed() -> None:
    request = GenerationRequest("fox")
    assert (request.width, request.height, request.seed) == (1024, 1024, -1)


def test_concrete_seed_replaces_only_minus_one() -> None:
    import random

    drawn = GenerationRequest("fox").with_concrete_seed(random.Random(1))
    assert 0 <= drawn.seed <= 2_147_483_647
    assert GenerationRequest("fox", seed=5).with_concrete_seed().seed == 5


def test_server_side_parsing_round_trips() -> None:
    request = GenerationRequest("a fox", width=256, height=1536, seed=0)
    assert GenerationRequest.from_json(request.to_json()) == request


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": 3}, "prompt"),
        ({"prompt": "fox", "size": "1024"}, "size"),
        ({"prompt": "fox", "size": "2048*1024"}, "width"),
        ({"prompt": "fox", "size": 1024}, "size"),
        ({"prompt": "fox", "size": "²*512"}, "size"),
        ({"prompt": "fox", "seed": "7"}, "seed"),
        ({"prompt": "fox", "enable_sync_mode": 1}, "sync_mode"),
    ],
)
def test_server_side_parsing_names_the_bad_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        GenerationRequest.from_json(body)
    assert caught.value.field == field


def test_size_accepts_star_and_x() -> None:
    assert parse_size("768*512") == (768, 512)
    assert parse_size("768x512") == (768, 512)


def test_prediction_parses_every_documented_field_and_tolerates_more() -> None:
    prediction = Prediction.from_json(
        {
            "id": "abc",
            "model": "wavespeed-ai/flux-2-klein-4b/text-to-image",
            "outputs": ["https://cdn/x.png"],
            "urls": {"get": "https://api/x"},
            "has_nsfw_contents": [False],
            "status": "completed",
            "created_at": "2026-01-15T10:00:00.5Z",
            "error": "",
            "timings": {"inference": 587},
            "something_new": {"nested": True},
        }
    )
    assert prediction.done
    assert not prediction.failed
    assert prediction.inference_ms == 587
    assert prediction.urls["get"] == "https://api/x"
    assert prediction.created_at == datetime(2026, 1, 15, 10, 0, 0, 500000, tzinfo=timezone.utc)


@pytest.mark.parametrize("status", ["failed", "cancelled", "timeout", "deleted"])
def test_terminal_failures(status: str) -> None:
    prediction = Prediction.from_json({"id": "x", "status": status, "error": "why"})
    assert prediction.done
    assert prediction.failed


def test_missing_fields_default_and_unknown_status_keeps_waiting() -> None:
    prediction = Prediction.from_json({"id": "x", "status": "warming-up", "timings": None})
    assert prediction.status == "processing"
    assert prediction.outputs == ()
    assert prediction.inference_ms is None
    assert not prediction.done


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 16), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_params_embed_losslessly_and_read_back(fmt: str) -> None:
    original = _image(fmt)
    params = {"prompt": "un renard roux, «nuit»", "seed": 42}
    tagged = embed_params(original, params)

    assert read_params(tagged) == params
    assert read_params(original) is None
    retagged = embed_params(tagged, {"seed": 43})
    assert read_params(retagged) == {"seed": 43}  # replaced, not duplicated
    with Image.open(io.BytesIO(retagged)) as a, Image.open(io.BytesIO(original)) as b:
        assert a.tobytes() == b.tobytes()


def test_format_is_detected_from_bytes() -> None:
    assert detect_format(_image("PNG")) == "png"
    assert detect_format(_image("JPEG")) == "jpeg"
    assert detect_format(_image("WEBP")) == "webp"
    assert detect_format(b"<html>") == "unknown"


def test_a_ledger_keeps_simulated_charges_apart_from_billed_ones() -> None:
    ledger = Ledger()
    for simulated in (True, True, False):
        ledger.commit(ledger.reserve(8, "image"), simulated=simulated)
    spend = ledger.spend
    assert (spend.images, spend.mills, spend.simulated_mills, spend.billed) == (3, 24, 16, 0.008)
    assert spend.price == "$0.008 + $0.016 simulated"
    assert str(spend) == "3 images, $0.008 + $0.016 simulated"


def test_ledger_counts_exactly_and_refuses_beyond_the_cap() -> None:
    ledger = Ledger(max_spend=0.02)
    tokens = [ledger.reserve(8, "image"), ledger.reserve(8, "image")]
    with pytest.raises(BudgetExceededError, match=r"\$0\.024.*\$0\.020"):
        ledger.reserve(8, "image")
    ledger.release(tokens[1])
    ledger.commit(tokens[0])
    ledger.commit(ledger.reserve(1, "enhancement"))
    spend = ledger.spend
    assert (spend.images, spend.enhancements, spend.mills) == (1, 1, 9)
    assert str(spend) == "1 image, $0.009"
