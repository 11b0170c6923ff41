"""The klein panel in marimo (``mo.ui.anywidget``): the same user steps as in JupyterLab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .family_steps import drive_family
from .harness import timed, wait_for_widget
from .panel_steps import check_image_tools, drive_panel, emulator_env

NOTEBOOK = """import marimo

app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo

    import klein_widget

    panel = mo.ui.anywidget(klein_widget.panel())
    panel
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.mark.browser
def test_panel_in_marimo(start_marimo: Any, page: Any, tmp_path: Path) -> None:
    notebook = tmp_path / "notebooks" / "panel_app.py"
    notebook.parent.mkdir(parents=True)
    notebook.write_text(NOTEBOOK)
    with emulator_env(tmp_path) as emu:
        with timed("marimo: server up"):
            server = start_marimo(notebook, env=emu.env)
        with timed("marimo: panel shown"):
            page.goto(server.url)
            panel = wait_for_widget(page, ".klein-panel", timeout=90)
        with timed("marimo: two images, a restore, a cancel"):
            drive_panel(page, panel, emu.running, tmp_path)
        with timed("marimo: lightbox, download, copy"):
            check_image_tools(page, panel, tmp_path)
        with timed("marimo: model picker, reference tray"):
            drive_family(page, panel, tmp_path)
