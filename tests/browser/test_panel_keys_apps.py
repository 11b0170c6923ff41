"""Issue 23 in Voila and marimo (apps: no kernel restart to try): slider arrow keys, the seed
box, the lightbox as a modal dialog, alt text. Screenshots are saved next to the test's
temporary files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import screenshot, wait_for_widget, write_notebook
from .panel_keys_steps import keys_problems
from .panel_steps import PANEL_CELL, emulator_env
from .test_panel_marimo import NOTEBOOK as MARIMO_NOTEBOOK


def keys_in_app(start: Any, page: Any, tmp_path: Path, name: str) -> list[str]:
    """Serve the panel as a Voila or marimo app and run every check on it."""
    folder = tmp_path / "notebooks"
    if name == "voila":
        app = write_notebook(folder / "keys.ipynb", [PANEL_CELL])
    else:
        folder.mkdir(parents=True)
        app = folder / "keys_app.py"
        app.write_text(MARIMO_NOTEBOOK)
    with emulator_env(tmp_path) as emu:
        server = start(app, env=emu.env)
        page.goto(server.url)
        panel = wait_for_widget(page, ".klein-panel", timeout=90)
        problems = keys_problems(page, panel, emu.running, tmp_path)
        screenshot(page, tmp_path / f"keys-{name}.png")
    return problems


@pytest.mark.browser
def test_panel_keys_in_voila(start_voila: Any, page: Any, tmp_path: Path) -> None:
    problems = keys_in_app(start_voila, page, tmp_path, "voila")
    assert problems == [], "\n".join(problems)


@pytest.mark.browser
def test_panel_keys_in_marimo(start_marimo: Any, page: Any, tmp_path: Path) -> None:
    problems = keys_in_app(start_marimo, page, tmp_path, "marimo")
    assert problems == [], "\n".join(problems)
