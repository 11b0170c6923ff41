"""The options of %klein are declared once (`klein_widget.ui._magic_options`): the parser,
the help, the usage errors and `format_magic` all come from that declaration."""

from __future__ import annotations

import pytest

from klein_widget.magic._args import parse_line
from klein_widget.magic._fields import expand
from klein_widget.magic._line import split_words
from klein_widget.ui._magic_help import MAGIC_HELP
from klein_widget.ui._magic_line import format_option
from klein_widget.ui._magic_options import (
    _PARSER,
    MAGIC_OPTIONS,
    MagicOption,
    MagicUsageError,
    options_summary,
    parse_options,
)

# A value for each option that takes one, with spaces, braces or a leading dash where
# the option allows it, so that quoting and attaching are exercised.
SAMPLES: dict[str, list[str]] = {
    "width": ["768", "{w}"],
    "height": ["512"],
    "size": ["768x512", "768*512"],
    "aspect": ["16:9", "3:2"],
    "seed": ["42", "-1", "random"],
    "count": ["3"],
    "out": ["fox.png", "my fox {1}.png", "-x.png", 'say "hi".png'],
    "pack": ["lesson-02.zip", "my lessons/{n}.zip"],
    "model": ["9b", "wavespeed-ai/flux-2-klein-9b/text-to-image"],
    "edit": ["last", "cat photo.png", "https://x.test/a.png?b=1&c={d}"],
    "ref": ["sofa.png", "-odd name.png"],
    "lora": ["owner/style:0.8", "https://x.test/style.safetensors"],
}


def test_every_option_is_declared_once_and_the_parser_takes_exactly_those() -> None:
    names = [option.name for option in MAGIC_OPTIONS]
    assert len(names) == len(set(names))
    flags = [flag for option in MAGIC_OPTIONS for flag in option.flags]
    assert len(flags) == len(set(flags))
    declared = set(flags) | {f"--no-{o.name}" for o in MAGIC_OPTIONS if o.negatable}
    assert set(_PARSER._option_string_actions) == declared
    assert set(SAMPLES) == {o.name for o in MAGIC_OPTIONS if not o.switch}


@pytest.mark.parametrize("option", MAGIC_OPTIONS, ids=lambda o: o.name)
def test_every_option_is_in_the_help_and_the_usage_error(option: MagicOption) -> None:
    assert f"\n  {option.synopsis}\n" in MAGIC_HELP
    first_words = option.help.split()[:3]
    assert " ".join(first_words) in " ".join(MAGIC_HELP.split())
    assert option.synopsis in options_summary()
    with pytest.raises(MagicUsageError) as caught:
        parse_line("a fox --bogus")
    assert option.synopsis in str(caught.value)


@pytest.mark.parametrize("option", MAGIC_OPTIONS, ids=lambda o: o.name)
def test_every_option_round_trips_through_format_and_parse(option: MagicOption) -> None:
    if option.switch:
        values: list[object] = [True, False]
    else:
        values = list(SAMPLES[option.name])
    for value in values:
        text = format_option(option.name, value)
        parsed = parse_options(split_words(f"a fox {text}"))
        assert parsed.words == ["a", "fox"], text
        got = getattr(parsed, option.name)
        if option.switch:
            expected = value if option.negatable else bool(value)
            assert got == expected, text
        elif option.repeat:
            assert [expand(one, {}) for one in got] == [value], text
        else:
            assert expand(got, {}) == value, text


def test_format_option_uses_the_declared_short_flag() -> None:
    for option in MAGIC_OPTIONS:
        written = format_option(option.name, True if option.switch else SAMPLES[option.name][0])
        assert written.split()[0] == option.flag
