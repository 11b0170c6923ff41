"""compare(): every prompt with every seed, concurrently, against the emulator over loopback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import klein_widget
from klein_widget import (
    AuthenticationError,
    BudgetExceededError,
    Generation,
    GenerationFailedError,
    InvalidRequestError,
    KleinClient,
)
from klein_widget.emulator import RunningEmulator
from klein_widget.lessons._compare import CompareResult, compare
from klein_widget.lessons._prompts import PromptBuilder
from klein_widget.ui._sizes import size_for_aspect
from tests.conftest import fast_options
from tests.kernels import execute


def test_every_combination_is_made_once_in_prompt_by_seed_order(
    emu: RunningEmulator, loop_client: KleinClient
) -> None:
    prompts = ["a red fox", "a red fox in deep snow"]
    result = compare(
        prompts, seeds=[7, 8, 9], width=256, height=256, client=loop_client, display=False
    )
    assert isinstance(result, CompareResult)
    assert result.prompts == tuple(prompts)
    assert result.seeds == (7, 8, 9)
    assert len(result.generations) == 6
    assert result.errors == []
    for r, prompt in enumerate(prompts):
        for c, seed in enumerate((7, 8, 9)):
            cell = result[r, c]
            assert isinstance(cell, Generation)
            assert (cell.prompt, cell.seed, cell.size) == (prompt, seed, (256, 256))
    assert emu.emulator.accepted == 6
    assert result.cost == pytest.approx(0.048)
    assert repr(result).startswith("CompareResult(2 prompts x 3 seeds, 6 images, 0 failed, ")


def test_requests_overlap(emu: RunningEmulator, loop_client: KleinClient) -> None:
    emu.emulator.configure(inference_time=2.0)  # longer than four submits on a busy machine
    compare(["a", "b"], seeds=[1, 2], width=256, height=256, client=loop_client, display=False)
    tasks = sorted(emu.emulator.tasks.values(), key=lambda t: t.start)
    assert len(tasks) == 4
    # With 4 workers all four were submitted before the first one finished.
    assert tasks[-1].start < tasks[0].finish


def test_the_grid_labels_rows_by_prompt_and_columns_by_seed(loop_client: KleinClient) -> None:
    result = compare(
        [PromptBuilder("a lighthouse"), PromptBuilder("a lighthouse", lighting="at night")],
        seeds=3,
        width=256,
        height=256,
        client=loop_client,
        display=False,
    )
    assert result.prompts == ("a lighthouse", "a lighthouse, at night")
    html = result._repr_html_()
    assert html is not None
    assert html == str(result.grid())
    assert html.count("<img ") == 2
    assert re.search(r"<mark[^>]*>at night</mark>", html)
    assert ">seed 3</th>" in html
    # A local emulator bills nothing: its prices say so (ui/_text.price_text).
    assert "2 prompts x 1 seed at 256x256: 2 images ($0.016 simulated)" in html


def test_a_failed_cell_shows_its_error_and_the_rest_render(
    emu: RunningEmulator, loop_client: KleinClient
) -> None:
    emu.emulator.script("task", "fail")
    result = compare(
        "a fox", seeds=[1, 2, 3], width=256, height=256, client=loop_client, display=False
    )
    assert len(result.generations) == 2
    [(prompt, seed, error)] = result.errors
    assert prompt == "a fox"
    assert seed in (1, 2, 3)
    assert isinstance(error, GenerationFailedError)
    html = str(result.grid())
    assert html.count("<img ") == 2
    assert html.count('role="alert"') == 1
    assert "injected fault" in html
    assert ", 1 failed" in html


def test_input_is_checked_before_anything_is_sent(
    emu: RunningEmulator, loop_client: KleinClient
) -> None:
    with pytest.raises(InvalidRequestError, match="seed must be from -1 to 2147483647"):
        compare(["a", "b"], seeds=[1, -5], client=loop_client, display=False)
    with pytest.raises(InvalidRequestError, match="width must be from 256 to 1536"):
        compare("a", width=100, client=loop_client, display=False)
    with pytest.raises(InvalidRequestError, match="prompt is empty"):
        compare(["a fox", " "], client=loop_client, display=False)
    with pytest.raises(ValueError, match="prompts is empty"):
        compare([], client=loop_client, display=False)
    with pytest.raises(ValueError, match="seeds is empty"):
        compare("a", seeds=[], client=loop_client, display=False)
    with pytest.raises(ValueError, match="workers must be a whole number from 1 to 16"):
        compare("a", workers=0, client=loop_client, display=False)
    assert emu.emulator.count("POST") == 0


def test_a_costly_grid_asks_first(emu: RunningEmulator, loop_client: KleinClient) -> None:
    prompts, seeds = ["a fox", "a cat", "a heron"], [1, 2]
    with pytest.raises(
        BudgetExceededError,
        match=r"would generate 6 new images for \$0\.048, over confirm_over=\$0\.04\. "
        r"Nothing was sent \(confirm=False\)",
    ):
        compare(prompts, seeds, client=loop_client, confirm_over=0.04, confirm=False)
    # Nobody can answer here (no terminal on stdin): it refuses rather than hang.
    with pytest.raises(BudgetExceededError, match="no input to ask for confirmation"):
        compare(prompts, seeds, client=loop_client, confirm_over=0.04, display=False)
    assert emu.emulator.count("POST") == 0
    result = compare(
        prompts,
        seeds,
        width=256,
        height=256,
        client=loop_client,
        confirm_over=0.04,
        confirm=True,
        display=False,
    )
    assert len(result.generations) == 6


def test_no_key_raises_once_with_what_to_do() -> None:
    # WaveSpeed needs a key; nothing is reachable here, so a request would fail otherwise.
    with (
        KleinClient(None, "https://api.wavespeed.ai") as keyless,
        pytest.raises(AuthenticationError, match="No WaveSpeed API key is set"),
    ):
        compare("a fox", client=keyless, display=False)


def test_the_shared_session_client_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # use_emulator() exports both variables; make sure teardown removes them again.
    for name in ("WAVESPEED_API_KEY", "WAVESPEED_BASE_URL"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    klein_widget.use_emulator(inference_time=0.02, quiet=True)
    klein_widget.session().configure(**fast_options())
    result = compare("a fox", seeds=[1, 2], width=256, height=256, display=False)
    assert [g.seed for g in result.generations] == [1, 2]
    history = list(klein_widget.session().history)
    assert sorted(g.seed for g in history) == [1, 2]
    assert klein_widget.session().spend.images == 2


def test_random_seeds_get_a_column_and_a_concrete_seed_each(loop_client: KleinClient) -> None:
    result = compare("a fox", seeds=[-1], width=256, height=256, client=loop_client, display=False)
    [gen] = result.generations
    assert gen.seed >= 0
    html = str(result.grid())
    assert ">random seed</th>" in html
    assert f">seed {gen.seed}</figcaption>" in html


def test_outside_a_kernel_nothing_is_displayed_live(loop_client: KleinClient) -> None:
    # A terminal IPython can't show HTML: no live grid, and the result displays as usual.
    shell = InteractiveShell.instance()
    shell.user_ns.update(compare=compare, client=loop_client)
    with capture_output() as captured:
        shell.run_cell("r = compare('a fox', seeds=[1], width=256, height=256, client=client)")
    assert captured.outputs == []
    html = shell.user_ns["r"]._repr_html_()
    assert html is not None
    assert html.count("<img ") == 1


LIVE_NOTEBOOK = [
    "import klein_widget\n"
    "klein_widget.use_emulator(inference_time=0.02, quiet=True)\n"
    "r = klein_widget.compare(['a fox', 'a fox at dusk'], seeds=[1, 2], width=256, height=256)\n"
    "r",
    "r",
]


def test_in_a_kernel_the_grid_shows_live_once(tmp_path: Path) -> None:
    # Here, not at the top: nbformat (jsonschema's grammars) costs every process that
    # collects this file over a CPU-second, and only this slow test uses it.
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in LIVE_NOTEBOOK])
    execute(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}})
    first, later = notebook.cells[0].outputs, notebook.cells[1].outputs
    # The live grid, updated in place until it was complete.
    [live] = [o for o in first if o.output_type == "display_data"]
    assert live.data["text/html"].count("<img ") == 4
    assert "waiting…" not in live.data["text/html"]
    assert "2 prompts x 2 seeds at 256x256: 4 images" in live.data["text/html"]
    # Echoing the result in the same cell adds nothing: no second grid, no
    # "CompareResult(...)" line under it (issue 23 item 10).
    assert [o for o in first if o.output_type == "execute_result"] == []
    # In a later cell the result displays as the grid.
    [shown] = [o for o in later if o.output_type in ("execute_result", "display_data")]
    assert shown.data["text/html"].count("<img ") == 4


SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"


def test_a_variant_grid_sends_one_submit_per_cell_and_a_second_run_none(
    emu: RunningEmulator, loop_client: KleinClient, capsys: pytest.CaptureFixture[str]
) -> None:
    template = "a {red|blue} fox in {snow|rain}"
    first = compare(template, seeds=[1, 2, 3], width=256, height=256, client=loop_client)
    # The cost was shown before anything was sent.
    assert "compare: 4 prompts x 3 seeds = 12 images, at most $0.096 simulated" in (
        capsys.readouterr().out
    )
    assert emu.emulator.count("POST", SUBMIT) == 12
    assert len(first.generations) == 12
    assert not any(g.from_gallery for g in first.generations)
    again = compare(template, seeds=[1, 2, 3], width=256, height=256, client=loop_client)
    assert emu.emulator.count("POST", SUBMIT) == 12  # every image came from the gallery
    assert all(g.from_gallery for g in again.generations)
    assert [g.image for g in again.generations] == [g.image for g in first.generations]
    assert (first.cost, again.cost, again.reused) == (0.096, 0.0, 12)
    assert "12 images ($0.000 simulated)" in again.summary
    assert "12 from your gallery, free" in again.summary
    # Three axes vary: colour rows, weather columns, a table per seed.
    sections = again.sections
    assert [s.heading for s in sections] == ["seed 1", "seed 2", "seed 3"]
    cell = again[2, 1, 0]
    assert isinstance(cell, Generation)
    assert (cell.prompt, cell.seed) == ("a blue fox in snow", 3)
    html = str(again.grid())
    assert html.count("<table") == 3
    assert html.count("<img ") == 12
    assert re.search(r"a <mark[^>]*>blue</mark> fox in \{snow\|rain\}", html)
    assert re.search(r'<th scope="col"[^>]*><mark[^>]*>rain</mark></th>', html)


def test_sizes_are_an_axis_of_presets_and_pixel_pairs(
    emu: RunningEmulator, loop_client: KleinClient
) -> None:
    result = compare(
        "a {red|blue} fox",
        seeds=[5],
        sizes=["1:1", "16:9", (384, 256)],
        client=loop_client,
        display=False,
    )
    assert result.sizes == ((512, 512), (512, 288), (384, 256))
    assert [[g.size for g in row] for row in result.cells] == [  # type: ignore[union-attr]
        [(512, 512), (512, 288), (384, 256)],
        [(512, 512), (512, 288), (384, 256)],
    ]
    html = str(result.grid())
    for label in ("1:1 · 512×512", "16:9 · 512×288", "384×256"):
        assert f">{label}</th>" in html
    assert "2 prompts x 1 seed x 3 sizes: 6 images" in html
    assert emu.emulator.count("POST", SUBMIT) == 6
    with pytest.raises(InvalidRequestError, match="sizes 40:1 gives"):
        compare("a fox", sizes=["40:1"], client=loop_client, display=False)
    with pytest.raises(ValueError, match="or aspect=, not both"):
        compare("a fox", sizes=["1:1"], aspect="16:9", client=loop_client, display=False)
    with pytest.raises(ValueError, match="sizes is a list"):
        compare("a fox", sizes="16:9", client=loop_client, display=False)  # type: ignore[arg-type]
    assert emu.emulator.count("POST", SUBMIT) == 6


def test_one_prompt_with_seeds_and_sizes_names_the_prompt_in_the_title(
    loop_client: KleinClient,
) -> None:
    result = compare(
        "a heron", seeds=[1, 2], sizes=["1:1", "2:3"], client=loop_client, display=False
    )
    [section] = result.sections
    assert section.row_labels == ["seed 1", "seed 2"]
    w, h = size_for_aspect("2:3", 512)  # the one aspect rule
    assert section.column_labels == ["1:1 · 512×512", f"2:3 · {w}×{h}"]
    assert "· a heron" in str(result.grid())


def test_save_writes_one_labelled_png(loop_client: KleinClient, tmp_path: Path) -> None:
    result = compare(
        "a {red|blue} fox",
        seeds=[1, 2, 3],
        width=256,
        height=256,
        client=loop_client,
        display=False,
    )
    path = result.save(tmp_path / "grid.png", thumbnail=128)
    from PIL import Image

    with Image.open(path) as picture:
        assert picture.format == "PNG"
        width, height = picture.size
        # A label column, three 128-px thumbnails; a title, a head row, two rows.
        assert width > 3 * 128 + 100
        assert height > 2 * 128 + 40
        # The highlight colour of the varying words is drawn.
        colours = {c for _, c in picture.convert("RGB").getcolors(1 << 20) or []}
        assert (255, 214, 90) in colours


def test_a_landscape_rows_png_is_as_tall_as_its_thumbnails(
    loop_client: KleinClient, tmp_path: Path
) -> None:
    from PIL import Image

    def png_height(aspect: str) -> int:
        result = compare("a {red|blue} fox", seeds=[1], aspect=aspect, client=loop_client)
        with Image.open(result.save(tmp_path / f"{aspect.replace(':', 'x')}.png")) as picture:
            return picture.size[1]

    square, wide = png_height("1:1"), png_height("16:9")
    side = 256  # GRID_THUMBNAIL_SIDE: a 16:9 thumbnail is 144 px tall, two rows save ~224 px
    assert square - wide >= 2 * (side - side * 9 // 16) - 8


def test_more_than_64_new_images_ask_first(emu: RunningEmulator, loop_client: KleinClient) -> None:
    with pytest.raises(BudgetExceededError, match=r"would generate 65 new images for \$0\.520"):
        compare("a {a|b|c|d|e} fox", seeds=list(range(13)), client=loop_client, confirm=False)
    assert emu.emulator.count("POST") == 0
