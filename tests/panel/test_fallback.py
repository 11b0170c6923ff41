"""A saved notebook shows what the panel made, with no kernel: the static fallback.

Displaying a panel in a real IPython shell publishes the live view and, beside it, an
HTML output with a display id; each new image updates that output (what nbformat saves
and GitHub or nbviewer render).
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from PIL import Image

from klein_widget import Session
from klein_widget.widget._state import LIVE_VIEW_TEXT
from klein_widget.widget._widget import KleinPanel
from tests.kernels import execute

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


async def test_display_shows_the_view_and_a_fallback_updated_as_images_arrive(
    shared: Session,
) -> None:
    shell = InteractiveShell.instance()
    panel = KleinPanel(prompt="a saved <fox>", width=768, height=512, seed=4)
    try:
        with capture_output() as shown:
            shell.display_formatter.format(panel)  # what leaving it last in a cell does
        view, fallback = shown.outputs
        assert view.data[WIDGET_VIEW]["model_id"] == panel.model_id
        # Where the view cannot be drawn (a saved notebook, a new kernel), its text says so.
        assert view.data["text/plain"] == LIVE_VIEW_TEXT
        assert "No image made yet" in fallback.data["text/html"]
        display_id = fallback.transient["display_id"]

        with capture_output() as updated:
            task = panel.generate()
            assert task is not None
            assert await task is not None
        (update,) = updated.outputs
        assert update.update
        assert update.transient["display_id"] == display_id
        html = update.data["text/html"]
        assert 'class="klein-fallback"' in html
        assert 'alt="emulator stand-in for: a saved &lt;fox&gt;"' in html  # issue 28 item 8
        assert "seed 4 · 768×512" in html  # once: the done line says it
        assert "seed=4" in html  # the Python snippet
        data = re.search(r'src="data:image/jpeg;base64,([^"]+)"', html)
        assert data is not None
        with Image.open(io.BytesIO(base64.b64decode(data.group(1)))) as image:
            assert image.size == (512, 341)  # the fallback's 512 px long side
    finally:
        panel.close()


def test_a_saved_notebook_keeps_the_last_image(live_env: str, tmp_path: Path) -> None:
    # A real kernel runs the notebook (as Jupyter does); the saved file is read back.
    # Here, not at the top: nbformat (jsonschema's grammars) costs every process that
    # collects this file over a CPU-second, and only this slow test uses it.
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(source)
        for source in (
            "import klein_widget\nfrom klein_widget import PollSchedule\n"
            "klein_widget.session().configure(poll=PollSchedule(fast=0.005, cap=0.05))\n"
            "panel = klein_widget.panel(prompt='a kept fox', width=256, height=256, seed=3)\n"
            "panel",
            "gen = await panel.generate()\nprint(gen.seed)",
        )
    ]
    execute(notebook, timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    saved = tmp_path / "saved.ipynb"
    nbformat.write(notebook, saved)

    outputs = nbformat.read(saved, as_version=4).cells[0].outputs
    assert [WIDGET_VIEW in o.get("data", {}) for o in outputs] == [True, False]
    html = outputs[1]["data"]["text/html"]
    assert "data:image/jpeg;base64," in html  # updated when the image arrived
    assert "a kept fox" in html
    assert "seed 3 · 256×256" in html
