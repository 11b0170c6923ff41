"""compare(..., models=["4b", "9b"]): the same prompt and seed on each model, the model in
each row or column label, each at its own price, against the emulator over loopback."""

from __future__ import annotations

import pytest

from klein_widget import Generation, InvalidRequestError, KleinClient
from klein_widget.client._family import resolve_model
from klein_widget.emulator import RunningEmulator
from klein_widget.lessons._axes import plan_grid
from klein_widget.lessons._compare import as_models, compare
from klein_widget.lessons._variants import expand_variants


def test_one_prompt_and_seed_on_both_models_side_by_side(
    emu: RunningEmulator, loop_client: KleinClient, capsys: pytest.CaptureFixture[str]
) -> None:
    result = compare(
        "a harbour at dawn",
        seeds=[7],
        models=["4b", "9b"],
        width=256,
        height=256,
        client=loop_client,
        display=True,
    )
    assert result.models == ("4b", "9b")
    four, nine = result[0, 0], result[0, 1]
    assert isinstance(four, Generation)
    assert isinstance(nine, Generation)
    assert (four.model, nine.model) == ("4b", "9b")
    assert (four.seed, nine.seed) == (7, 7)
    assert four.prompt == nine.prompt == "a harbour at dawn"
    for name in ("4b", "9b"):
        assert emu.emulator.count("POST", resolve_model(name).path) == 1
    section = result.sections[0]
    assert list(section.column_labels or []) == ["4B", "9B"]
    html = str(result.grid())
    assert "9B" in html
    assert "x 2 models" in result.summary
    # 9B's price is unconfirmed: the grid's cost says so, as the spend line does.
    assert result.cost_text.endswith("(of it $0.016 reserved, price unconfirmed)")
    assert result.cost_text in result.summary
    # The cost said first counts each model at the price a budget reserves for it.
    reserve = (resolve_model("4b").reserve_mills + resolve_model("9b").reserve_mills) / 1000
    assert f"2 models = 2 images, at most ${reserve:.3f}" in capsys.readouterr().out
    assert result.cost == pytest.approx(four.cost + nine.cost)


def test_variants_are_rows_and_models_columns(loop_client: KleinClient) -> None:
    result = compare(
        "a {red|blue} fox",
        seeds=[3],
        models=["4b", "9b"],
        width=256,
        height=256,
        client=loop_client,
        display=False,
    )
    assert len(result) == 4
    cell = result[1, 1]
    assert isinstance(cell, Generation)
    assert (cell.prompt, cell.model, cell.seed) == ("a blue fox", "9b", 3)
    assert result.plan.axes[result.plan.columns or 0].name == "model"


def test_models_with_seeds_make_a_model_by_seed_table() -> None:
    plan = plan_grid(
        [expand_variants("a fox")], [1, 2], [(256, 256)], [None], models=as_models(["4b", "9b"])
    )
    assert plan.axes[plan.rows or 0].name == "model"
    assert plan.axes[plan.columns or 0].name == "seed"
    assert [(r.model, r.seed) for r in plan.requests] == [
        ("4b", 1),
        ("4b", 2),
        ("9b", 1),
        ("9b", 2),
    ]


def test_loras_style_every_cell_on_the_lora_endpoint(
    emu: RunningEmulator, loop_client: KleinClient
) -> None:
    result = compare(
        "a fox",
        seeds=[1, 2],
        loras=[("owner/ink", 0.5)],
        width=256,
        height=256,
        client=loop_client,
        display=False,
    )
    assert result.models == ("4b-lora",)
    assert [(g.model, g.loras, g.seed) for g in result.generations] == [
        ("4b-lora", (("owner/ink", 0.5),), 1),
        ("4b-lora", (("owner/ink", 0.5),), 2),
    ]
    assert emu.emulator.count("POST", resolve_model("4b-lora").path) == 2


@pytest.mark.parametrize(
    ("models", "error", "words"),
    [
        ("9b", ValueError, "is a list"),
        ([], ValueError, "is a list"),
        (["9b-edit"], ValueError, "not a text-to-image model"),
        (["4b", "4B"], ValueError, "twice"),
        (["12b"], InvalidRequestError, "model must be one of"),
        (["4b-lora"], ValueError, "loras= for LoRA styles"),
    ],
)
def test_bad_models_are_refused_before_anything_is_sent(
    emu: RunningEmulator,
    loop_client: KleinClient,
    models: object,
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error, match=words):
        compare("a fox", seeds=[1], models=models, client=loop_client, display=False)  # type: ignore[arg-type]
    assert emu.emulator.requests == []


def test_loras_on_9b_are_refused_before_anything_is_sent(
    emu: RunningEmulator, loop_client: KleinClient
) -> None:
    with pytest.raises(InvalidRequestError, match="takes no LoRAs"):
        compare("a fox", seeds=[1], models=["9b"], loras=["owner/ink"], client=loop_client)
    assert emu.emulator.requests == []
