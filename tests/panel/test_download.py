"""Download carries the image's parameters whatever door it came through (issue 23 item 8),
and stale state is not kept (item 9): a default emulator after a failing one, snippets
that never name a stopped emulator's port."""

from __future__ import annotations

import klein_widget
from klein_widget._session import session
from klein_widget.client._metadata import read_params
from klein_widget.widget._history import FULL_IMAGES
from klein_widget.widget._widget import KleinPanel

from .test_panel import click_generate


async def test_a_gallery_rerun_downloads_with_its_parameters(panel: KleinPanel) -> None:
    panel.prompt, panel.width, panel.height = "a fox kept in the gallery", 256, 256
    for seed in range(1, FULL_IMAGES + 3):  # seed 1's full image is then no longer kept
        panel.seed = seed
        assert await click_generate(panel) is not None
    assert panel.history[-1].generation is None
    panel.seed = 1
    again = await click_generate(panel)
    assert again is not None
    assert again.from_gallery  # free: answered from the gallery
    params = read_params(panel.image)
    assert params is not None
    assert (params["prompt"], params["seed"]) == ("a fox kept in the gallery", 1)


async def test_use_emulator_without_knobs_is_a_default_one(tmp_path: object) -> None:
    failing = klein_widget.use_emulator(quiet=True, fail_rate=1.0, inference_time=0.05)
    try:
        plain = klein_widget.use_emulator(quiet=True)
        assert plain is not failing
        assert plain.emulator.faults.fail_rate == 0
        assert klein_widget.use_emulator(quiet=True) is plain  # a default one is reused
        made = KleinPanel(prompt="a fox on a default emulator", width=256, height=256, seed=5)
        try:
            assert await click_generate(made) is not None
            entry = made.history[0]
            klein_widget.use_emulator(quiet=True, inference_time=0.05)  # the old one stops
            made.restore(entry)
            for title, code in made.snippets.items():
                assert plain.base_url not in code, (title, code)
            assert made.snippets["Python"].startswith("import klein_widget\n")
            assert "klein_widget.use_emulator()" in made.snippets["Python"]
            assert 'BASE="$WAVESPEED_BASE_URL"' in made.snippets["curl"]
        finally:
            made.close()
    finally:
        running = session().emulator
        if running is not None:
            running.stop()
        session().emulator = None
