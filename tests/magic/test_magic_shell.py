"""%klein and %%klein in a real IPython shell, against the emulator over loopback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from ipywidgets.widgets.widget import _instances as widget_instances
from traitlets.config import Config

import klein_widget
from klein_widget import Generation, GenerationFailedError, GenerationRequest, KleinError
from klein_widget.client._metadata import read_params
from klein_widget.magic._magics import KleinMagics, ShownGeneration
from klein_widget.ui._magic_line import format_magic
from klein_widget.ui._magic_options import MAGIC_OPTIONS
from klein_widget.ui._text import done_text, error_text
from tests.magic.conftest import Shell

SMALL = "-W 256 -H 256"  # small images keep the emulator quick


def test_line_magic_shows_a_status_line_then_the_image_once(ipython: Shell) -> None:
    ran = ipython.run(f"%klein a red fox {SMALL} -s 7")

    assert ran.error is None
    gen = ran.value
    assert isinstance(gen, Generation)
    assert (gen.prompt, gen.seed, gen.size) == ("a red fox", 7, (256, 256))
    # What the page shows: the status line, now the closing line, then the image, once.
    assert ran.texts == [done_text(gen, base_url=ipython.emulator.base_url)]
    assert ran.texts[0].endswith("256×256 · $0.008 simulated")  # the emulator bills nothing
    assert ran.images == [gen.image]
    assert len(ran.outputs) == 2
    # The status line was live: it started before anything was sent and was updated.
    assert ran.published[0] == {"text/plain": "Submitting…"}
    assert len(ran.published) >= 3
    # The return value was not shown again as the cell's result.
    assert "Generation(" not in ran.stdout
    # It is the session's image: same history and spend as the panel.
    assert klein_widget.session().history[-1] == gen
    assert klein_widget.session().spend.images == 1


def test_assigned_result_is_shown_once_and_again_later(ipython: Shell) -> None:
    ran = ipython.run(f"fox = %klein a red fox {SMALL} -s 8\nfox")
    assert ran.error is None
    fox = ipython.shell.user_ns["fox"]
    assert isinstance(fox, ShownGeneration)
    assert ran.images == [fox.image]

    later = ipython.run("fox")
    assert later.images == [fox.image]
    assert later.sent == 0


def test_line_and_cell_forms_give_identical_images(ipython: Shell) -> None:
    line = ipython.run(f'%klein "a fox, at dusk" {SMALL} -s 11')
    cell = ipython.run(f"%%klein {SMALL} -s 11\na fox, at dusk\n")
    again = ipython.run(format_magic(line.value.request))
    other_seed = ipython.run(f'%klein "a fox, at dusk" {SMALL} -s 12')

    assert line.value.request == cell.value.request == again.value.request
    assert line.value.image == cell.value.image == again.value.image
    assert other_seed.value.image != line.value.image


def test_prompts_fill_in_names_from_the_namespace(ipython: Shell) -> None:
    ipython.run("animal = 'owl'\nplaces = ['a pine forest', 'a city']\nsize = 256")
    ran = ipython.run("%klein an {animal} in {places[0]} -W {size} -H {size} -s 1")
    assert ran.value.prompt == "an owl in a pine forest"
    assert ran.value.size == (256, 256)

    literal = ipython.run(f"%klein a {{{{animal}}}} and $animal {SMALL} -s 1")
    assert literal.value.prompt == "a {animal} and $animal"  # IPython's own $ is off

    cell = ipython.run(f"%%klein {SMALL} -s 1\nan {{animal}}\nat night")
    assert cell.value.prompt == "an owl\nat night"

    local = ipython.run(
        "def make():\n"
        "    animal = 'heron'  # a local name wins over the notebook's\n"
        f"    made = %klein a {{animal}} {SMALL} -s 1\n"
        "    return made\n"
        "heron = make()"
    )
    assert local.result.success
    assert ipython.shell.user_ns["heron"].prompt == "a heron"


def test_count_shows_a_grid_of_consecutive_seeds(ipython: Shell) -> None:
    ran = ipython.run(f"foxes = %klein a fox -n 3 -s 5 {SMALL}\nfoxes")
    assert ran.error is None
    foxes = ipython.shell.user_ns["foxes"]
    assert [g.seed for g in foxes] == [5, 6, 7]
    assert len(foxes) == 3
    assert foxes[2].seed == 7  # indexed as the list it was
    assert ran.sent >= 3
    assert ran.images == []  # thumbnails in the grid, not three big images
    [grid] = ran.html
    assert grid.count("<img") == 3
    assert all(f"seed {seed}" in grid for seed in (5, 6, 7))
    assert "a fox" in grid
    assert ran.texts == [ran.texts[0]]
    assert ran.texts[0].startswith("3/3 done in ")
    assert "seeds 5 to 7" in ran.texts[0]
    assert ran.texts[0].endswith("256×256 · $0.024 simulated")
    assert "[Generation(" not in ran.stdout

    later = ipython.run("foxes")
    assert later.html[0].count("<img") == 3


def test_out_saves_the_image_with_its_parameters(ipython: Shell, tmp_path: Path) -> None:
    ran = ipython.run(f"%klein a fox {SMALL} -s 3 -o {tmp_path}/fox.png")
    saved = tmp_path / "fox.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
    params = read_params(saved)
    assert params is not None
    assert (params["prompt"], params["seed"]) == ("a fox", 3)
    assert ran.texts == [
        f"{done_text(ran.value, base_url=ipython.emulator.base_url)} · saved {saved}"
    ]

    ipython.run(f"%klein a fox {SMALL} -s 3 -n 2 -o {tmp_path}/many.png")
    seeds = [read_params(tmp_path / f"many-{i}.png") for i in (1, 2)]
    assert [p["seed"] for p in seeds if p] == [3, 4]


def test_config_changes_the_defaults(
    ipython: Shell, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for line in (
        "%config KleinMagics.width = 512",
        "%config KleinMagics.height = 256",
        "%config KleinMagics.seed = 9",
        f"%config KleinMagics.out_dir = {str(tmp_path)!r}",
    ):
        assert ipython.run(line).error is None
    ran = ipython.run("%klein a fox")
    assert (ran.value.size, ran.value.seed) == ((512, 256), 9)
    assert (tmp_path / "klein-9.png").exists()
    assert ipython.run("%klein a fox -W 768 -s 1").value.size == (768, 256)
    assert ipython.run("%klein a fox --aspect 2:1").value.size == (512, 256)

    assert ipython.run("%klein a fox -s 4 -o sub/fox.png").error is None
    assert read_params(tmp_path / "sub" / "fox.png") is not None  # relative to out_dir

    refused = ipython.run("%config KleinMagics.width = 100")
    assert ipython.magics.width == 512
    assert refused.error is None  # %config logs the refusal on one line, and keeps 512
    assert "KleinMagics.width: width must be from 256 to 1536" in caplog.text


def test_config_file_sets_the_defaults(ipython: Shell) -> None:
    config = Config()
    config.KleinMagics.width = 768
    config.KleinMagics.sync = True
    magics = KleinMagics(shell=ipython.shell, config=config)
    ipython.shell.configurables.remove(magics)  # keep the shared shell as it was
    defaults = magics.defaults()
    assert (defaults.width, defaults.height, defaults.sync) == (768, 1024, True)


def test_sync_uses_one_request(ipython: Shell) -> None:
    emulator = ipython.emulator.emulator
    polls = emulator.count("GET", "/api/v3/predictions/*/result")
    ran = ipython.run(f"%klein a fox {SMALL} -s 2 --sync")
    assert ran.value.request.sync_mode is True
    assert emulator.count("GET", "/api/v3/predictions/*/result") == polls


def test_enhance_shows_the_new_prompt_and_uses_it(ipython: Shell) -> None:
    ran = ipython.run(f"%klein a fox {SMALL} -s 1 --enhance")
    enhanced = ran.value.prompt
    assert enhanced != "a fox"
    assert "fox" in enhanced.lower()
    assert ran.texts[0] == f"Enhanced prompt: {enhanced}"
    done = done_text(ran.value, base_url=ipython.emulator.base_url)
    # The enhancer's cost is in the total (issue 23 item 7).
    assert ran.texts[1] == f"{done} · prompt enhanced $0.001 simulated · $0.009 simulated in all"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%klein a fox -W 100", "width must be from 256 to 1536 pixels"),
        ("%klein a fox -s -5", "seed must be from -1 to 2147483647"),
        ("%klein a fox --colour red", "unknown option --colour red: the options are"),
        ('%klein ""', "the prompt is empty"),
        ("%%klein -W 512\n   \n", "the prompt is empty"),
        ("%klein a fox --size 512x512 -W 512", "--size sets both sides"),
        ("%klein a fox --aspect sixteen:nine", "--aspect must be two whole numbers"),
        ("%klein a {nobody}", "there is no variable named 'nobody'"),
        ("%klein a fox -n 3 --panel", "-n only work when %klein makes images itself"),
    ],
)
def test_mistakes_are_one_usage_line_and_send_nothing(
    ipython: Shell, cell: str, message: str
) -> None:
    ran = ipython.run(cell)
    assert isinstance(ran.error, UsageError)
    assert message in str(ran.error)
    assert ran.stderr == f"UsageError: {ran.error}\n"
    assert ran.sent == 0
    assert ran.outputs == []


def test_a_failed_task_is_one_line_with_its_task_id(ipython: Shell) -> None:
    ipython.emulator.emulator.script("task", "fail")
    ran = ipython.run(f"%klein a fox {SMALL} -s 1")
    assert isinstance(ran.error, UsageError)
    cause = ran.error.__cause__
    assert isinstance(cause, GenerationFailedError)
    assert cause.task_id
    assert str(ran.error) == error_text(cause)
    assert cause.task_id in str(ran.error)
    assert ran.stderr == f"UsageError: {ran.error}\n"
    assert ran.texts == ["Failed (the error is below)."]


def test_a_failure_in_a_grid_keeps_the_others(ipython: Shell) -> None:
    ipython.emulator.emulator.script("task", "ok", "fail")
    ran = ipython.run(f"%klein a fox {SMALL} -n 3 -s 20")
    assert isinstance(ran.error, UsageError)
    assert str(ran.error).startswith("1 of 3 images failed (2 shown above")
    [grid] = ran.html
    assert grid.count("<img") == 2
    assert 'role="alert"' in grid
    assert len(klein_widget.session().history) == 2


def test_a_missing_key_is_one_line_and_sends_nothing(
    ipython: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WAVESPEED_API_KEY")
    klein_widget.session().configure(base_url="https://api.wavespeed.ai")  # needs a key
    ran = ipython.run(f"%klein a fox {SMALL}")
    assert isinstance(ran.error, UsageError)
    assert isinstance(ran.error.__cause__, KleinError)
    assert "key" in str(ran.error).lower()
    assert ran.stderr.count("\n") == 1
    assert ran.sent == 0


def _panel_of(ran: object) -> object:
    [bundle] = [o for o in ran.outputs if "application/vnd.jupyter.widget-view+json" in o]  # type: ignore[attr-defined]
    model_id = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    return widget_instances[model_id]


def test_no_prompt_opens_the_panel(ipython: Shell) -> None:
    ran = ipython.run("%klein")
    assert ran.error is None
    assert ran.value is None
    assert type(_panel_of(ran)).__name__ == "KleinPanel"

    filled = ipython.run("%klein a lighthouse --panel -W 768 -s 3")
    panel = _panel_of(filled)
    assert (panel.prompt, panel.width, panel.height, panel.seed) == (  # type: ignore[attr-defined]
        "a lighthouse",
        768,
        1024,
        3,
    )
    assert ran.sent == filled.sent == 0


def test_help_has_examples(ipython: Shell) -> None:
    ran = ipython.run("%klein?")
    for text in ("Examples:", "--aspect W:H", "%config KleinMagics.width = 768", "{name}"):
        assert text in ran.stdout
    # The options section is generated from the declaration: every option is there.
    for option in MAGIC_OPTIONS:
        assert f"  {option.synopsis}\n" in ran.stdout


def test_a_quoted_question_is_a_prompt(ipython: Shell) -> None:
    ran = ipython.run(f'%klein "is it a fox?" {SMALL} -s 1')
    assert ran.value.prompt == "is it a fox?"


def test_the_key_appears_in_no_output(ipython: Shell, api_key: str) -> None:
    made = ipython.run(f"%klein a fox {SMALL} -s 1")
    ipython.emulator.emulator.script("submit", 401)
    refused = ipython.run(f"%klein a fox {SMALL} -s 2")  # -s 1 is in the gallery: free
    assert isinstance(refused.error, UsageError)
    for ran in (made, refused):
        everything = repr(ran.published) + ran.stdout + ran.stderr + str(ran.error)
        assert api_key not in everything


def test_a_loop_shows_each_image_once(ipython: Shell) -> None:
    ran = ipython.run(f"for s in (1, 2):\n    %klein a fox {SMALL} -s {{s}}")
    assert ran.error is None
    assert [g.seed for g in klein_widget.session().history] == [1, 2]
    assert len(ran.images) == 2


@pytest.mark.parametrize(
    "prompt",
    [
        'say "hi" to {x}, it\'s 50% \\ done?',
        "-dash first, $HOME and !bang",
        "two {lines}\n  and a tab\there",
    ],
)
def test_format_magic_output_runs_back_to_the_same_request(ipython: Shell, prompt: str) -> None:
    request = GenerationRequest(prompt, 256, 272, seed=5)
    ran = ipython.run(format_magic(request))
    assert ran.error is None, ran.stderr
    assert ran.value.request == request


def test_a_fixed_seed_comes_back_free_unless_fresh(ipython: Shell) -> None:
    emulator = ipython.emulator.emulator
    before = emulator.count("POST")
    first = ipython.run(f"%klein a quiet harbour {SMALL} -s 5")
    again = ipython.run(f"_ = %klein a quiet harbour {SMALL} -s 5\n_.from_gallery")
    fresh = ipython.run(f"%klein a quiet harbour {SMALL} -s 5 --fresh")

    assert [ran.error for ran in (first, again, fresh)] == [None, None, None]
    assert again.result.result is True  # the returned Generation says where it came from
    assert again.sent == 0  # nothing was asked of the server
    assert emulator.count("POST") - before == 2  # the first and the --fresh one


def test_variants_make_a_labelled_grid_once_and_a_second_run_is_free(ipython: Shell) -> None:
    emulator = ipython.emulator.emulator
    before = emulator.count("POST")
    line = f"grid = %klein a {{red|blue}} fox -s 1,2,3 {SMALL}\ngrid"
    ran = ipython.run(line)
    assert ran.error is None
    # The cost is said before anything is sent.
    assert "compare: 2 prompts x 3 seeds = 6 images, at most $0.048 simulated" in ran.stdout
    assert emulator.count("POST") - before == 6  # one submit per cell
    [grid] = ran.html  # shown once, though the result is also the cell's last line
    assert grid.count("<img ") == 6
    assert re.search(r"a <mark[^>]*>red</mark> fox", grid)
    assert all(f">seed {seed}</th>" in grid for seed in (1, 2, 3))
    result = ipython.shell.user_ns["grid"]
    assert [g.prompt for g in result.generations[:3]] == ["a red fox"] * 3
    assert [g.seed for g in result.generations[3:]] == [1, 2, 3]

    again = ipython.run(line)
    assert again.error is None
    assert again.sent == 0  # every cell came from the gallery
    assert all(g.from_gallery for g in ipython.shell.user_ns["grid"].generations)


def test_a_variable_stays_a_variable_and_its_value_never_varies(ipython: Shell) -> None:
    ipython.run("animal = 'fox {or|not}'")
    ran = ipython.run(f"g = %klein a {{small|big}} {{animal}} -s 4 {SMALL}")
    assert ran.error is None
    assert [g.prompt for g in ipython.shell.user_ns["g"].generations] == [
        "a small fox {or|not}",
        "a big fox {or|not}",
    ]


def test_every_grid_keeps_sync_mode_and_says_its_seeds(ipython: Shell) -> None:
    # -n and variants are one grid engine: --sync reaches every cell of both.
    for line, seeds in (("{red|blue} -s 95,97", "seeds 95, 97"), ("-n 2 -s 93", "seeds 93 to 94")):
        ran = ipython.run(f"g = %klein a fox {line} {SMALL} --sync")
        assert ran.error is None
        made = ipython.shell.user_ns["g"].generations
        assert len(made) == (2 if "-n" in line else 4)
        assert all(g.request.sync_mode for g in made)
        assert "done in " in ran.texts[-1]
        assert f" · {seeds} · 256×256 · " in ran.texts[-1]


def test_a_variant_grid_saves_one_png(ipython: Shell, tmp_path: Path) -> None:
    ran = ipython.run(f"%klein a {{red|blue}} fox -s 9 {SMALL} -o {tmp_path}/grid.png")
    assert ran.error is None
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_variant_syntax_is_one_usage_line_and_sends_nothing(ipython: Shell) -> None:
    ran = ipython.run(f"%klein a {{x$$red|blue}} fox {SMALL}")
    assert isinstance(ran.error, UsageError)
    assert "cannot read it at character 3" in str(ran.error)
    assert ran.sent == 0


def test_count_four_wraps_into_two_by_two(ipython: Shell) -> None:
    ran = ipython.run(f"%klein a fox -n 4 -s 30 {SMALL}")
    assert ran.error is None
    [grid] = ran.html
    assert grid.count("<img ") == 4
    assert "grid-template-columns: repeat(2, minmax(0, 1fr))" in grid
