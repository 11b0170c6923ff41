"""Prompt variants: the syntax A1111 / Dynamic Prompts users know, expanded by dynamicprompts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klein_widget import InvalidRequestError
from klein_widget.lessons._variant_text import (
    WILDCARDS_ENV,
    Protected,
    escape_own,
    guard,
    has_variants,
    literal,
    restore,
    wildcards_folder,
)
from klein_widget.lessons._variants import MAX_EXPANSIONS, expand_variants


def test_alternatives_expand_combinatorially_first_group_slowest() -> None:
    variants = expand_variants("a {red|blue} fox in {snow|rain}")
    assert variants.prompts == (
        "a red fox in snow",
        "a red fox in rain",
        "a blue fox in snow",
        "a blue fox in rain",
    )
    assert [a.source for a in variants.axes] == ["{red|blue}", "{snow|rain}"]
    assert [v.choices for v in variants] == [
        ("red", "snow"),
        ("red", "rain"),
        ("blue", "snow"),
        ("blue", "rain"),
    ]
    assert [s.text for s in variants[2].segments if s.emphasised] == ["blue", "snow"]
    assert "".join(s.text for s in variants[2].segments) == "a blue fox in snow"
    assert variants[3].label == "blue · rain"


def test_weighted_and_counted_forms() -> None:
    # Weights only steer random sampling: a grid shows every option once.
    assert expand_variants("a {3::red|blue} fox").prompts == ("a red fox", "a blue fox")
    counted = expand_variants("{2$$ and $$salt|pepper|oil}")
    assert counted.prompts[0] == "salt and pepper"
    assert len(counted) == 6  # ordered pairs, as the library's combinatorial mode gives
    assert expand_variants("{2$$a|b}").prompts[0] == "a,b"


def test_a_prompt_without_variants_is_one_prompt_untouched() -> None:
    text = "a $5 bill, #1 fan, 50% off, snake__case // not a comment /* nor this */"
    variants = expand_variants(text)
    assert variants.prompts == (text,)
    assert variants.axes == ()
    assert not has_variants(text)


def test_characters_the_library_treats_as_syntax_stay_literal_beside_variants() -> None:
    text = "a $5 bill, #1 fan, 50% off // {red|blue}"
    assert expand_variants(text).prompts == (
        "a $5 bill, #1 fan, 50% off // red",
        "a $5 bill, #1 fan, 50% off // blue",
    )


# The private-use characters are those the guard itself stands in with.
@given(st.text(alphabet="ab #$%/_*{}|:xyz \ue000\ue003\ue007\ue008\ue009", max_size=30))
def test_literal_text_survives_guarding_and_never_expands(text: str) -> None:
    assert restore(guard(escape_own(text))) == text
    assert restore(literal(text)) == text
    # %klein's way: a protected template, its values kept literal...
    protected = Protected(literal(text) + " {1|2}")
    assert expand_variants(protected).prompts == (f"{text} 1", f"{text} 2")
    # ...and anyone else's: the user's own text, whatever characters it holds.
    if not has_variants(text):
        assert expand_variants(text).prompts == (text,)


def test_a_prompt_may_start_with_any_character() -> None:
    # %klein's protection is a type, not a mark in the text: this prompt lost its first
    # character when a leading U+E009 meant "protected" (found by hypothesis).
    assert expand_variants("\ue009a fox").prompts == ("\ue009a fox",)
    assert expand_variants(Protected(literal("\ue009a {fox}"))).prompts == ("\ue009a {fox}",)


def test_wildcards_from_a_folder_argument_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "cards"
    folder.mkdir()
    (folder / "animal.txt").write_text("fox\nheron\n# a comment line\n", encoding="utf-8")
    prompts = expand_variants("a __animal__ at {dawn|dusk}", wildcards=folder).prompts
    assert sorted(prompts) == sorted(
        ["a fox at dawn", "a fox at dusk", "a heron at dawn", "a heron at dusk"]
    )
    monkeypatch.setenv(WILDCARDS_ENV, str(folder))
    assert wildcards_folder() == folder
    assert len(expand_variants("a __animal__")) == 2
    monkeypatch.delenv(WILDCARDS_ENV)
    monkeypatch.chdir(tmp_path)
    assert wildcards_folder() is None  # ./wildcards only when it exists
    (tmp_path / "wildcards").mkdir()
    assert wildcards_folder() == Path("wildcards")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("a {red|blue fox", r"cannot read it at character 3 \('\{red\|blue fo'\)"),
        ("a __nowhere__ fox", r"__nowhere__ has no options \(no wildcards folder"),
        ("a {~red|blue} fox", r"random \(~\) and cyclic \(@\) picks make no fixed grid"),
        ("{a|b}" * 11, f"expands to 2048 prompts, over {MAX_EXPANSIONS}"),
    ],
)
def test_mistakes_are_invalid_requests_before_anything_is_sent(template: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as caught:
        expand_variants(template)
    assert caught.value.field == "prompt"
    assert isinstance(caught.value, ValueError)


def test_a_missing_wildcard_file_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match=f"no file colour.txt in {tmp_path}"):
        expand_variants("a __colour__ fox", wildcards=tmp_path)


def test_the_cost_line() -> None:
    variants = expand_variants("a {red|blue|green} fox")
    assert variants.cost_text(seeds=2, sizes=2, base_url="https://api.wavespeed.ai") == (
        "3 prompts x 2 seeds x 2 sizes = 12 images, at most $0.096 "
        "(images already in the gallery are free)"
    )
    assert "$0.024 simulated" in variants.cost_text(base_url="http://127.0.0.1:8765")
