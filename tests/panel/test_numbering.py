"""One numbering and one spend rule for every door (issue 23 item 7): "#N" is the history's
number of an image, after free re-runs too; a failed task is shown as failed (by its
seed), is no image, and is not counted as money (WaveSpeed refunds it)."""

from __future__ import annotations

from klein_widget.emulator import Emulator
from klein_widget.widget._widget import KleinPanel

from .conftest import click, until
from .test_panel import click_generate


async def make(panel: KleinPanel, seed: int) -> None:
    panel.seed = seed
    assert await click_generate(panel) is not None


async def test_numbers_are_the_historys_after_free_reruns_and_failures(
    panel: KleinPanel, emulator: Emulator
) -> None:
    panel.prompt, panel.width, panel.height = "a numbered fox", 256, 256
    await make(panel, 1)
    await make(panel, 2)
    await make(panel, 1)  # from the gallery: free, and still image #1
    assert panel.image_info["number"] == 1
    assert "From your gallery" in panel.status
    emulator.script("task", "fail")
    panel.seed = 3
    assert await click_generate(panel) is None
    assert panel.status.startswith("The generation failed on the server")
    await make(panel, 4)
    numbers = {e.request.seed: e.number for e in panel.history}
    assert numbers == {1: 1, 2: 2, 4: 3}  # the failed seed 3 is no image
    assert panel.image_info["number"] == 3

    # Two at once: each outcome is named by the history's number (or its seed if failed).
    emulator.script("task", "fail")
    panel.seed = -1
    first, second = panel.generate(), panel.generate()
    assert first is not None
    assert second is not None
    failed_seed = panel.jobs.active[0].request.seed
    assert await first is None
    assert await second is not None
    assert panel.status.splitlines() == [
        line
        for line in panel.status.splitlines()
        if line.startswith(("#4 ", f"seed {failed_seed} "))
    ]
    # Spend: 4 images made (one of them twice, free), two failures refunded.
    spend = panel.spend_line
    assert "4 images · $0.032" in spend, spend
    assert "2 failed tasks, not counted (WaveSpeed refunds them)" in spend, spend


async def test_cancel_and_arrival_name_the_image_as_the_history_does(
    panel: KleinPanel, emulator: Emulator
) -> None:
    panel.prompt, panel.width, panel.height = "a fox to wait for", 256, 256
    await make(panel, 7)  # image #1
    emulator.configure(inference_time=0.6)
    panel.seed = 8
    task = panel.generate()
    assert task is not None
    await until(lambda: "Generating" in panel.status, "the task to be accepted")
    click(panel, "cancel")
    assert panel.status.startswith("Stopped waiting for the image with seed 8;")
    assert await task is not None
    await until(lambda: "arrived" in panel.status, "the image to arrive")
    assert "Image #2 (seed 8) arrived: it is in the history." in panel.status
    assert [e.number for e in panel.history if e.request.seed == 8] == [2]
