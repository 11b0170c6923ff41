"""`parse_line` and `format_magic`: the pure half of %klein, no IPython needed."""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klein_widget import GenerationRequest, InvalidRequestError
from klein_widget.client._models import MAX_SEED, MAX_SIDE, MIN_SIDE
from klein_widget.lessons._variant_text import restore
from klein_widget.lessons._variants import expand_variants
from klein_widget.magic._args import MagicArgs, MagicDefaults, MagicUsageError, parse_line
from klein_widget.magic._fields import expand
from klein_widget.magic._line import split_words
from klein_widget.ui._magic_line import format_magic
from klein_widget.ui._magic_options import MAX_COUNT
from klein_widget.ui._sizes import size_for_aspect


def model_message(**fields: object) -> str:
    """What `GenerationRequest` itself says about these fields (the one place rules live)."""
    with pytest.raises(InvalidRequestError) as caught:
        GenerationRequest(**{"prompt": "x", **fields})  # type: ignore[arg-type]
    return str(caught.value)


# --- the line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "prompt"),
    [
        ("a red fox", "a red fox"),
        ('"a fox, at dusk" -W 512', "a fox, at dusk"),
        ("'a  fox'", "a  fox"),
        ("a fox's den", "a fox's den"),
        ("it's a fox's den", "it's a fox's den"),
        ('a 12" record', 'a 12" record'),
        (r'"say \"hi\""', 'say "hi"'),
        ("a -W 512 fox", "a fox"),
        ("-W 512 -- -fox in snow", "-fox in snow"),
        ("%klein a red fox", "a red fox"),
        ("  a   red\tfox  ", "a   red\tfox"),  # as typed, between its first and last word
    ],
)
def test_prompt_words(line: str, prompt: str) -> None:
    assert parse_line(line).prompt == prompt


def test_options_anywhere_and_defaults() -> None:
    args = parse_line("a fox -s 42 in snow -H 512 --sync -o fox.png --enhance")
    assert args == MagicArgs(
        prompt="a fox in snow",
        width=1024,
        height=512,
        seed=42,
        count=1,
        sync=True,
        enhance=True,
        out="fox.png",
        panel=False,
    )
    defaults = MagicDefaults(width=768, height=640, seed=7, sync=True)
    assert parse_line("a fox", defaults) == MagicArgs("a fox", 768, 640, 7, sync=True)
    assert parse_line("a fox --no-sync -s random", defaults).sync is False
    assert parse_line("a fox -s random", defaults).seed == -1


def test_size_and_aspect() -> None:
    assert (parse_line("fox --size 768x512").width, parse_line("fox --size 768*512").height) == (
        768,
        512,
    )
    # --aspect is the panel's rule (klein_widget.ui._sizes), checked in full in tests/panel.
    for aspect, size in [("16:9", (1024, 576)), ("3:2", (1024, 688)), ("9:16", (576, 1024))]:
        assert size_for_aspect(aspect) == size
        args = parse_line(f"fox --aspect {aspect}")
        assert (args.width, args.height) == size
    assert (parse_line("fox --aspect 16:9 -W 768").height, 768) == (432, 768)
    assert parse_line("fox --aspect 4:3 -H 768").width == 1024
    args = parse_line("fox --aspect 16:9", MagicDefaults(width=768, height=512))
    assert (args.width, args.height) == (768, 432)  # the default's long side
    assert (parse_line("fox --aspect 2:3 -H 1536").width, 1536) == (1024, 1536)


def test_count_makes_consecutive_seeds() -> None:
    args = parse_line("a fox -n 4 -s 10")
    assert args.grid_seeds() == (10, 11, 12, 13)
    drawn = parse_line("a fox -n 3").grid_seeds()
    assert drawn == tuple(range(drawn[0], drawn[0] + 3))
    assert drawn[0] >= 0
    assert parse_line("a fox").request().seed == -1  # the client draws it
    top = parse_line(f"a fox -n {MAX_COUNT} -s {MAX_SEED - MAX_COUNT + 1}").grid_seeds()
    assert top[-1] == MAX_SEED
    enhanced = args.request("a fox, oil painting")
    assert (enhanced.prompt, enhanced.seed) == ("a fox, oil painting", 10)


def test_no_prompt_means_panel() -> None:
    assert parse_line("") == MagicArgs("")
    assert parse_line("-W 512 -s 3") == MagicArgs("", width=512, seed=3)
    assert parse_line("a fox --panel -W 768") == MagicArgs("a fox", width=768, panel=True)


def test_cell_body_is_the_prompt() -> None:
    args = parse_line("-W 512 -s 1", cell="a fox\n  in snow\n")
    assert (args.prompt, args.width, args.seed) == ("a fox\n  in snow", 512, 1)
    assert parse_line("%%klein -s 2\na {{fox}}\nline two").prompt == "a {fox}\nline two"


# --- mistakes: one line that says what is allowed -------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a fox -W 100", model_message(width=100)),
        ("a fox -H 2000", model_message(height=2000)),
        ("a fox -W 1000.5", model_message(width="1000.5")),
        ("a fox -s -2", model_message(seed=-2)),
        ("a fox -s many", model_message(seed="many")),
        ("a fox --size 7x", "--size must look like 768x512"),
        ("a fox --size 768x512 -W 512", "--size sets both sides"),
        ("a fox --size 768x512 --aspect 1:1", "--size and --aspect both set the shape"),
        ("a fox --aspect wide", "--aspect must be two whole numbers like 16:9"),
        ("a fox --aspect 16:0", "--aspect must be two whole numbers"),
        ("a fox --aspect 10:1", "--aspect 10:1 gives 2560x256: " + model_message(width=2560)),
        ("a fox --aspect 9:16 -W 1536", "--aspect 9:16 gives 1536x2736: "),
        ("a fox --aspect 16:9 -W 100", model_message(width=100)),
        ("a fox --aspect 1:1 -W 768 -H 768", "--aspect with both -W and -H"),
        ("a fox --bogus", "unknown option --bogus: the options are -W/--width"),
        ("a fox --wid 512", "unknown option --wid 512"),
        ("a fox -W", "-W/--width needs a value"),
        ('""', "the prompt is empty: describe the image"),
        ("a fox -n 0", f"-n/--count must be a whole number from 1 to {MAX_COUNT}, not '0'"),
        ("a fox -n 99", "-n/--count must be a whole number from 1 to 16"),
        (f"a fox -n 3 -s {MAX_SEED}", f"start at {MAX_SEED - 2} or lower"),
        ("-n 3", "-n only work when %klein makes images itself"),
        ("a fox --panel -o x.png", "-o only work when %klein makes images itself"),
        ("a 'fox", "a ' quote is not closed"),
        ("a {animal}", "{animal}: there is no variable named 'animal'"),
        ("a {}", "{} and {0} are not filled in"),
        ("a }", "a single } in 'a }': write {{ and }} for literal braces"),
        ("a {red|blue", "a { is not closed in 'a {red|blue'"),
        ("a {x$$red|blue} fox", "cannot read it at character 3"),
        ("a fox -s 1,x", model_message(seed="x")),
        ("a fox -s 1,2 -n 3", "-n with a list of seeds"),
        ("a {red|blue} fox --enhance", "--enhance rewrites one prompt"),
    ],
)
def test_mistakes(line: str, message: str) -> None:
    with pytest.raises(MagicUsageError) as caught:
        parse_line(line)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_words_on_the_first_line_of_a_cell_are_refused() -> None:
    with pytest.raises(MagicUsageError, match="takes the prompt from the cell body"):
        parse_line("a fox -W 512", cell="in snow")
    with pytest.raises(MagicUsageError, match="the prompt is empty"):
        parse_line("-W 512", cell="  \n  ")


# --- {name} -----------------------------------------------------------------------------------


def test_expand_names_attributes_and_indexes() -> None:
    names = {
        "animal": "fox",
        "scene": SimpleNamespace(place="a forest", colours=["red", "gold"]),
        "sizes": {"wide": 768},
        "n": 3,
    }
    assert expand("a {animal} in {scene.place}", names) == "a fox in a forest"
    assert expand("{scene.colours[1]} {sizes[wide]} {n:02d} {{x}}", names) == "gold 768 03 {x}"
    args = parse_line("a {animal} -W {sizes[wide]} -n {n} -o {animal}.png", namespace=names)
    assert (args.prompt, args.width, args.count, args.out) == ("a fox", 768, 3, "fox.png")
    assert parse_line("-s 1", cell="a {animal}\n{{not filled}}", namespace=names).prompt == (
        "a fox\n{not filled}"
    )


def test_expand_is_not_eval() -> None:
    names = {"animal": "fox"}
    for text, message in [
        ("{animal.__class__}", "private attributes"),
        ("{animal.upper()}", "has no attribute 'upper()'"),  # looked up, never called
        ("{animal.nope}", "has no attribute 'nope'"),
        ("{animal[9]}", "string index out of range"),
        ("{animal + 1}", "no variable named 'animal + 1'"),
        ("{animal.}", "is not a variable reference"),
    ]:
        with pytest.raises(MagicUsageError) as caught:
            expand(text, names)
        assert message in str(caught.value), text


def test_expanded_values_cannot_inject_options() -> None:
    args = parse_line("a {x}", namespace={"x": "fox -W 512 --panel"})
    assert (args.prompt, args.width, args.panel) == ("a fox -W 512 --panel", 1024, False)


def test_split_words() -> None:
    assert split_words("""a "b c" 'd e' f\\ g it's""") == ["a", "b c", "d e", "f g", "it's"]
    assert split_words('"" x') == ["", "x"]
    assert split_words(r"C:\images\fox.png") == [r"C:\images\fox.png"]


# --- format_magic, the inverse -----------------------------------------------------------------


def test_format_magic_examples() -> None:
    request = GenerationRequest("a red fox, at dusk", 768, 512, seed=42)
    assert format_magic(request) == '%klein "a red fox, at dusk" -W 768 -H 512 -s 42'
    odd = GenerationRequest('say "hi" {x} \\ end', seed=1, sync_mode=True)
    assert format_magic(odd) == r'%klein "say \"hi\" {{x}} \\ end" -W 1024 -H 1024 -s 1 --sync'
    assert format_magic(GenerationRequest("-x fox", seed=3)).startswith("%klein -W 1024")
    assert format_magic(GenerationRequest("a fox\nin snow", seed=1)) == (
        "%%klein -W 1024 -H 1024 -s 1\na fox\nin snow"
    )


_ALPHABET = st.sampled_from(list("ab -'\"\\{}%?#$:=\n\t\r*")) | st.characters(codec="utf-8")
prompts = st.text(_ALPHABET, min_size=1, max_size=60).filter(lambda p: p.strip() != "")
requests = st.builds(
    GenerationRequest,
    prompt=prompts,
    width=st.integers(MIN_SIDE, MAX_SIDE),
    height=st.integers(MIN_SIDE, MAX_SIDE),
    seed=st.integers(-1, MAX_SEED),
    sync_mode=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(request=requests, defaults=st.builds(MagicDefaults, width=st.sampled_from([512, 768])))
def test_format_then_parse_gives_the_request_back(
    request: GenerationRequest, defaults: MagicDefaults
) -> None:
    text = format_magic(request)
    args = parse_line(text, defaults)
    assert args.request() == request
    assert (args.count, args.enhance, args.out, args.panel) == (1, False, None, False)


def test_variants_make_a_grid_and_variables_stay_variables() -> None:
    args = parse_line("a {size} {red|blue} fox -s 1,2,3 -W 512", namespace={"size": "{x|y}"})
    assert args.variants
    assert args.grid
    assert args.seeds == (1, 2, 3)
    assert args.grid_seeds() == (1, 2, 3)
    # The filled-in value stays literal: only the {red|blue} written on the line varies.
    assert expand_variants(args.prompt).prompts == ("a {x|y} red fox", "a {x|y} blue fox")
    assert restore(args.prompt) == "a {x|y} {red|blue} fox"
    counted = parse_line("a {2$$salt|pepper|oil} on {1::rice|toast} -n 2 -s 7")
    assert counted.variants
    assert counted.grid_seeds() == (7, 8)
    literal_braces = parse_line("a {{red|blue}} fox")
    assert not literal_braces.variants
    assert literal_braces.prompt == "a {red|blue} fox"
    seeds_only = parse_line("a fox -s 4,5")
    assert seeds_only.grid
    assert not seeds_only.variants
    assert seeds_only.prompt == "a fox"


def test_a_random_seed_is_drawn_once_for_every_variant() -> None:
    args = parse_line("a {red|blue} fox -n 2")
    seeds = args.grid_seeds(random.Random(3))
    assert seeds[1] == seeds[0] + 1
    assert seeds[0] >= 0


def test_a_wildcard_is_one_only_where_its_file_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a file, __init__ is just words: a snippet of that prompt reads back the same.
    plain = parse_line("a python __init__ method, __animal__ style")
    assert not plain.variants
    assert plain.prompt == "a python __init__ method, __animal__ style"
    (tmp_path / "animal.txt").write_text("fox\nheron\n", encoding="utf-8")
    monkeypatch.setenv("KLEIN_WILDCARDS", str(tmp_path))
    args = parse_line("a python __init__ method, __animal__ style -s 3")
    assert args.variants
    assert sorted(expand_variants(args.prompt).prompts) == [
        "a python __init__ method, fox style",
        "a python __init__ method, heron style",
    ]
