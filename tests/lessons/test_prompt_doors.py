"""What the user typed is what is sent, through every door: %klein, %%klein, compare and
PromptBuilder. Quotes (how FLUX.2 is told which text to draw) and JSON prompts survive;
only a brace group that is a variant expands."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from klein_widget import Generation, KleinClient
from klein_widget.client._models import GenerationRequest
from klein_widget.emulator import start
from klein_widget.lessons._compare import compare
from klein_widget.lessons._prompts import PromptBuilder
from klein_widget.lessons._variant_text import has_variants, is_json_prompt
from klein_widget.lessons._variants import expand_variants
from klein_widget.magic._args import format_magic, parse_line
from klein_widget.ui._magic_line import escape_braces
from tests.conftest import FAKE_KEY, fast_options

SIGN = 'a shop sign that says "OPEN"'
JSON_PROMPT = '{"scene": "a fox in snow", "style": "watercolour", "palette": ["#1E90FF"]}'

# Prompt text as people write it, syntax characters of every kind included.
_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(" \"'{}[]|:$#%/_*,.\\-=2ab"), _CHARS), min_size=1
)


def _json_values() -> st.SearchStrategy[object]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


def _sendable(text: str) -> str:
    stripped = text.strip()
    assume(stripped and not has_variants(stripped))
    return stripped


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXT)
def test_a_prompt_without_variants_passes_every_door_unchanged(text: str) -> None:
    prompt = _sendable(text)
    # compare() and the grid: what expand_variants gives is what is sent.
    assert expand_variants(prompt).prompts == (prompt,)
    # PromptBuilder: a subject alone is the prompt as written, and expands to itself.
    builder = PromptBuilder(prompt)
    assert builder.prompt == prompt
    assert builder.expand() == [prompt]
    # %klein: the line the panel's snippet writes reads back as the same prompt...
    line = format_magic(GenerationRequest(prompt, seed=1))
    assert parse_line(line).prompt == prompt
    # ...and %%klein takes its cell body as written ({{ }} are literal braces there, as
    # {name} fills in a variable: the magic's one rule for braces).
    assert parse_line("-s 1", cell=escape_braces(prompt)).prompt == prompt


_PLAIN_WORD = st.text(alphabet="abcxyz019,.!?:;#$%*&|/=+", min_size=1, max_size=8).filter(
    lambda w: not w.startswith("-")
)
_QUOTED = _PLAIN_WORD.map(lambda w: f'"{w}"') | st.builds(
    lambda a, b: f'"{a} {b}"', _PLAIN_WORD, _PLAIN_WORD
)


@settings(max_examples=200)
@given(_PLAIN_WORD, st.lists(_PLAIN_WORD | _QUOTED, min_size=1, max_size=6))
def test_a_typed_percent_klein_line_sends_its_quotes(first: str, rest: list[str]) -> None:
    prompt = " ".join([first, *rest])
    assume(not has_variants(prompt))
    assert parse_line(f"{prompt} -s 3").prompt == prompt
    assert parse_line(f"-W 512 {prompt}").prompt == prompt


@settings(max_examples=150)
@given(_json_values().filter(lambda v: isinstance(v, (dict, list))))
def test_a_json_prompt_is_never_expanded(value: object) -> None:
    prompt = json.dumps(value)
    assume(prompt not in ("[]", "{}"))
    assert is_json_prompt(prompt)
    assert not has_variants(prompt)
    assert expand_variants(prompt).prompts == (prompt,)
    assert PromptBuilder(prompt).expand() == [prompt]
    assert parse_line("-s 1", cell=prompt).prompt == prompt
    assert parse_line(f"{prompt} -s 1").prompt == prompt


@pytest.mark.parametrize(
    ("line", "prompt"),
    [
        (f"%klein {SIGN}", SIGN),
        (f"%klein {SIGN} -s 4", SIGN),
        ('%klein "a fox, at dusk" --aspect 16:9', "a fox, at dusk"),  # one quoted string
        ("%klein 'a fox, at dusk'", "a fox, at dusk"),
        ('%klein "OPEN" in neon letters', '"OPEN" in neon letters'),
        (f"%klein {JSON_PROMPT} -s 2", JSON_PROMPT),
        ("%klein a sign that says {{OPEN}}", "a sign that says {OPEN}"),
    ],
)
def test_percent_klein_quoting(line: str, prompt: str) -> None:
    args = parse_line(line)
    assert args.prompt == prompt
    assert not args.variants


def test_only_a_variant_brace_group_expands() -> None:
    assert expand_variants("a sign that says {OPEN}").prompts == ("a sign that says {OPEN}",)
    assert expand_variants("a {red|blue} fox {x}").prompts == ("a red fox {x}", "a blue fox {x}")
    assert expand_variants("a {2::red} fox").prompts == ("a red fox",)  # a weighted form
    assert expand_variants("a } and a {").prompts == ("a } and a {",)  # unmatched: literal
    assert expand_variants('{"label": "A|B"}').prompts == ('{"label": "A|B"}',)  # JSON
    assert expand_variants(SIGN + " in {red|blue}").prompts[1] == SIGN + " in blue"
    cell = parse_line("-s 1", cell='a sign that says "SALE" in {red|green} letters')
    assert cell.variants
    assert expand_variants(cell.prompt).prompts[0] == 'a sign that says "SALE" in red letters'


@pytest.fixture
def loop_client() -> Iterator[KleinClient]:
    with (
        start(port=0, inference_time=0.01) as running,
        KleinClient(FAKE_KEY, running.base_url, **fast_options()) as client,
    ):
        yield client


def test_compare_sends_quotes_and_json_as_written(loop_client: KleinClient) -> None:
    prompts = [SIGN, JSON_PROMPT, PromptBuilder(SIGN, style="neon, at night")]
    result = compare(prompts, seeds=[1], width=256, height=256, client=loop_client, display=False)
    assert result.errors == []
    sent = [g.prompt for g in result.generations if isinstance(g, Generation)]
    assert sent == [SIGN, JSON_PROMPT, SIGN + ", neon, at night"]
