"""compare(): every prompt with every seed, concurrently, against the emulator over loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from nbclient import NotebookClient

import klein_widget
from klein_widget import (
    AuthenticationError,
    BudgetExceededError,
    Generation,
    GenerationFailedError,
    InvalidRequestError,
    KleinClient,
)
from klein_widget.emulator import RunningEmulator, start
from klein_widget.lessons._compare import CompareResult, compare
from klein_widget.lessons._prompts import PromptBuilder
from tests.conftest import FAKE_KEY, fast_options


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    """A fresh loopback emulator per test (its log and fault script are per test)."""
    with start(port=0, inference_time=0.05) as running:
        yield running


@pytest.fixture
def loop_client(emu: RunningEmulator) -> Iterator[KleinClient]:
    with KleinClient(FAKE_KEY, emu.base_url, **fast_options()) as client:
        yield client


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
    emu.emulator.configure(inference_time=0.3)
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
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in LIVE_NOTEBOOK])
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    first, later = notebook.cells[0].outputs, notebook.cells[1].outputs
    # The live grid, updated in place until it was complete.
    [live] = [o for o in first if o.output_type == "display_data"]
    assert live.data["text/html"].count("<img ") == 4
    assert "waiting…" not in live.data["text/html"]
    assert "2 prompts x 2 seeds at 256x256: 4 images" in live.data["text/html"]
    # Echoing the result in the same cell adds only the one-line summary, not a second grid.
    [echo] = [o for o in first if o.output_type == "execute_result"]
    assert "text/html" not in echo.data
    assert echo.data["text/plain"].startswith("CompareResult(2 prompts x 2 seeds, 4 images")
    # In a later cell the result displays as the grid.
    [shown] = [o for o in later if o.output_type == "execute_result"]
    assert shown.data["text/html"].count("<img ") == 4
