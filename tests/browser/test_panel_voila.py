"""The klein panel as a Voila app (rendered by the shared Jupyter server's Voila extension, as
``/voila/render/...``): the same user steps as in JupyterLab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .family_steps import drive_family
from .harness import timed, wait_for_widget, write_notebook
from .panel_steps import PANEL_CELL, drive_panel, emulator_env


@pytest.mark.browser
def test_panel_in_voila(start_voila: Any, page: Any, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "notebooks" / "panel.ipynb", [PANEL_CELL])
    with emulator_env(tmp_path) as emu:
        with timed("voila: app ready"):
            server = start_voila(nb, env=emu.env)
        with timed("voila: panel shown"):
            page.goto(server.url)
            panel = wait_for_widget(page, ".klein-panel", timeout=90)
        with timed("voila: two images, a restore, a cancel"):
            drive_panel(page, panel, emu.running, tmp_path)
        with timed("voila: model picker, reference tray"):
            drive_family(page, panel, tmp_path)
    assert page.locator(".jp-InputArea").count() == 0  # an app: outputs only
