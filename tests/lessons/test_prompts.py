"""The prompt builder: composition order, cleaning, variation and explanations."""

from __future__ import annotations

import dataclasses

import pytest

from klein_widget import KleinClient
from klein_widget.emulator import start
from klein_widget.lessons._compare import compare
from klein_widget.lessons._prompts import PARTS, PromptBuilder
from tests.conftest import FAKE_KEY, fast_options


def test_parts_are_written_in_order_and_unset_parts_are_skipped() -> None:
    builder = PromptBuilder(
        "a red fox asleep",
        composition="close-up",
        mood="peaceful",
        colours="rust and cream",
        lighting="soft morning light",
        style="watercolour",
    )
    assert builder.prompt == (
        "a red fox asleep, watercolour, soft morning light, rust and cream, peaceful, close-up"
    )
    assert str(builder) == builder.prompt
    assert list(builder.parts) == list(PARTS)
    assert PromptBuilder("a fox", mood="calm").unset == (
        "style",
        "lighting",
        "colours",
        "composition",
    )


def test_blanks_and_trailing_punctuation_do_not_double_the_commas() -> None:
    builder = PromptBuilder("  a fox,  ", style="oil painting.", lighting="   ")
    assert builder.prompt == "a fox, oil painting."  # the last part is kept as written
    assert builder.lighting == ""
    assert PromptBuilder("a fox.").prompt == "a fox."  # a subject alone is the prompt


def test_colors_is_another_spelling_of_colours() -> None:
    assert PromptBuilder("a fox", colors="teal").colours == "teal"
    assert PromptBuilder("a fox").with_(colors="red").prompt == "a fox, red"
    with pytest.raises(TypeError, match="not both"):
        PromptBuilder("a fox", colours="red", colors="teal")


def test_with_varies_one_part_and_leaves_the_original_alone() -> None:
    base = PromptBuilder("a lighthouse", style="linocut print", mood="lonely")
    night = base.with_(lighting="under a full moon")
    assert night.prompt == "a lighthouse, linocut print, under a full moon, lonely"
    assert base.prompt == "a lighthouse, linocut print, lonely"
    assert base.with_(mood="").prompt == "a lighthouse, linocut print"
    assert base.replace(style="photo").style == "photo"
    assert dataclasses.replace(base, mood="joyful").prompt == "a lighthouse, linocut print, joyful"
    with pytest.raises(TypeError, match="unknown part colour: the parts are subject, style"):
        base.with_(colour="red")


def test_mistakes_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="subject is empty: say what the picture is of"):
        PromptBuilder("   ", style="photo")
    with pytest.raises(TypeError, match="mood must be text, not int 3"):
        PromptBuilder("a fox", mood=3)  # type: ignore[arg-type]


def test_explain_lists_every_part_with_what_it_does() -> None:
    explanation = PromptBuilder("a fox <b>", lighting="neon").explain()
    assert explanation.prompt == "a fox <b>, neon"
    assert [row.part for row in explanation.rows] == list(PARTS)
    assert [row.text for row in explanation.rows] == ["a fox <b>", "", "neon", "", "", ""]
    text = str(explanation)
    assert text.startswith("prompt: a fox <b>, neon\n")
    assert "style        (not set: the model decides)" in text
    assert "goes first" in text
    html = explanation._repr_html_()
    assert "a fox &lt;b&gt;" in html
    assert "<b>, neon" not in html
    assert html.count("<tr>") == 1 + len(PARTS)
    assert "what it does" in html


def test_repr_shows_only_the_set_parts() -> None:
    assert repr(PromptBuilder("a fox", mood="calm")) == "PromptBuilder('a fox', mood='calm')"
    assert PromptBuilder("a fox")._repr_html_().count("not set: the model decides") == 5


def test_a_builder_writes_variants_and_expands_them() -> None:
    fox = PromptBuilder("a red fox", style="watercolour")
    varied = fox.vary("lighting", "dawn", "dusk, ")
    assert varied.prompt == "a red fox, watercolour, {dawn|dusk}"
    assert varied.expand() == ["a red fox, watercolour, dawn", "a red fox, watercolour, dusk"]
    assert varied.variants().axes[0].values == ("dawn", "dusk")
    assert PromptBuilder("a {red|blue} fox").expand() == ["a red fox", "a blue fox"]
    assert fox.expand() == ["a red fox, watercolour"]
    with pytest.raises(ValueError, match="two or more options"):
        fox.vary("mood", "calm")
    with pytest.raises(ValueError, match="without braces or"):
        fox.vary("mood", "calm", "a|b")
    with pytest.raises(TypeError, match="unknown part"):
        fox.vary("texture", "rough", "smooth")


def test_compare_takes_a_varied_builder_as_one_template() -> None:
    with (
        start(port=0, inference_time=0.01) as emu,
        KleinClient(FAKE_KEY, emu.base_url, **fast_options()) as client,
    ):
        builder = PromptBuilder("a fox").vary("mood", "calm", "eerie").vary("style", "ink", "oil")
        result = compare(builder, seeds=[3], width=256, height=256, client=client, display=False)
    assert result.prompts == (
        "a fox, ink, calm",
        "a fox, ink, eerie",
        "a fox, oil, calm",
        "a fox, oil, eerie",
    )
    [section] = result.sections
    assert len(section.rows) == 2  # style rows, mood columns: two variant groups, two axes
    assert section.column_labels is not None
    assert [label[0].text for label in section.column_labels] == ["calm", "eerie"]  # type: ignore[index]
