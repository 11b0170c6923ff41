"""The klein panel in JupyterLab: type, size, Generate, see the image; restore from history.

Screenshots (light theme, then dark) are saved next to the test's temporary files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import open_notebook, run_all_cells, timed, wait_for_widget, write_notebook
from .panel_steps import PANEL_CELL, drive_panel, emulator_env, panel_screenshot


@pytest.mark.browser
def test_panel_in_lab(start_lab: Any, page: Any, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "notebooks" / "panel.ipynb", [PANEL_CELL])
    with emulator_env(tmp_path) as env:
        with timed("lab: server up"):
            server = start_lab(nb.parent, env=env)
        with timed("lab: kernel idle"):
            open_notebook(page, server, "panel.ipynb")
        with timed("lab: panel shown"):
            run_all_cells(page)
            panel = wait_for_widget(page, ".klein-panel")
        with timed("lab: two images and a restore"):
            drive_panel(page, panel, server.kernel(), tmp_path)
        # Dark theme: the panel must stay readable (checked by eye on this screenshot).
        page.evaluate(
            "() => window.jupyterapp.commands.execute("
            "'apputils:change-theme', {theme: 'JupyterLab Dark'})"
        )
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        panel_screenshot(page, panel, tmp_path / "panel-dark.png")
