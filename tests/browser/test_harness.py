"""The harness drives core ipywidgets end to end, in JupyterLab and in Voila.

The notebook's button handler runs in the kernel: it draws a PNG (slider value x 64) with
Pillow into an Image widget and copies the textarea into an HTML widget. The browser types,
slides with the keyboard and clicks; the asserts read what the page shows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .harness import (
    KernelProbe,
    ServerProcess,
    click_button,
    fill_text,
    image_size,
    open_notebook,
    run_all_cells,
    set_slider,
    timed,
    wait_for_widget,
    wait_image_size,
    write_notebook,
)

DEMO_CELL = """\
import html, io, os, sys
import ipywidgets as w
from PIL import Image as PILImage

prompt = w.Textarea(placeholder="Prompt")
width = w.IntSlider(value=512, min=256, max=1536, step=16, description="Width")
go = w.Button(description="Generate")
result = w.HTML()
picture = w.Image(format="png")

def on_click(_):
    buf = io.BytesIO()
    PILImage.new("RGB", (width.value, 64), (200, 80, 40)).save(buf, format="PNG")
    picture.value = buf.getvalue()
    result.value = "<b>" + html.escape(prompt.value) + "</b>"

go.on_click(on_click)
w.VBox([prompt, width, go, result, picture], _dom_classes=["demo-panel"])
"""

ENV = {"KLEIN_HARNESS_MARK": "from-the-test"}
TEXT = "a red fox <in> the snow"
WIDTH = 768


def _drive_demo(panel: Any, server: ServerProcess) -> KernelProbe:
    """Type, slide, wait for the kernel to hold both values, click, check the results."""
    kernel = server.kernel()
    assert image_size(panel) == (0, 0)
    fill_text(panel.locator(".widget-textarea textarea"), TEXT)
    set_slider(panel, WIDTH)
    expect(panel.locator(".widget-readout")).to_have_text(str(WIDTH))
    # The front end throttles value updates but sends clicks at once: wait for the kernel.
    kernel.wait_for("prompt.value", TEXT)
    kernel.wait_for("width.value", WIDTH)
    click_button(panel, "Generate")
    assert wait_image_size(panel, WIDTH, 64) == (WIDTH, 64)
    expect(panel.locator(".widget-html-content")).to_have_text(TEXT)
    # The server's environment and interpreter reach the kernel.
    assert kernel.eval("os.environ['KLEIN_HARNESS_MARK']") == ENV["KLEIN_HARNESS_MARK"]
    assert kernel.eval("sys.executable") == sys.executable
    return kernel


@pytest.mark.browser
def test_lab_widgets_round_trip(start_lab: Any, page: Any, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "notebooks" / "demo.ipynb", [DEMO_CELL])
    with timed("lab: server up"):
        server = start_lab(nb.parent, env=ENV)
    with timed("lab: kernel idle"):
        open_notebook(page, server, "demo.ipynb")
    with timed("lab: widgets shown"):
        run_all_cells(page)
        panel = wait_for_widget(page, ".demo-panel")
    with timed("lab: interaction"):
        _drive_demo(panel, server)
    panel.scroll_into_view_if_needed()


@pytest.mark.browser
def test_voila_widgets_round_trip(start_voila_server: Any, page: Any, tmp_path: Path) -> None:
    # The standalone `voila` command (the panel's Voila tests use the shared Lab's extension).
    nb = write_notebook(tmp_path / "notebooks" / "demo.ipynb", [DEMO_CELL])
    with timed("voila: server up"):
        server = start_voila_server(nb, env=ENV)
    with timed("voila: widgets shown"):
        page.goto(server.url)
        panel = wait_for_widget(page, ".demo-panel", timeout=90)
    with timed("voila: interaction"):
        _drive_demo(panel, server)
    # Voila hides code: the page shows outputs only.
    assert page.locator(".jp-InputArea").count() == 0
