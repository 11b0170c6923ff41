"""The klein panel in Notebook 7: the same user steps as in JupyterLab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .family_steps import drive_family
from .harness import open_notebook7, run_all_cells, timed, wait_for_widget, write_notebook
from .panel_steps import PANEL_CELL, drive_panel, emulator_env


@pytest.mark.browser
def test_panel_in_notebook7(start_lab: Any, page: Any, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "notebooks" / "panel.ipynb", [PANEL_CELL])
    with emulator_env(tmp_path) as emu:
        with timed("notebook 7: server up"):
            server = start_lab(nb.parent, env=emu.env)
        with timed("notebook 7: kernel idle"):
            open_notebook7(page, server, "panel.ipynb")
        with timed("notebook 7: panel shown"):
            run_all_cells(page)
            panel = wait_for_widget(page, ".klein-panel")
        with timed("notebook 7: two images, a restore, a cancel"):
            drive_panel(page, panel, emu.running, tmp_path)
        with timed("notebook 7: model picker, reference tray"):
            drive_family(page, panel, tmp_path)
