"""Issue 23 in JupyterLab and Notebook 7: slider arrow keys, the seed box, the lightbox as a
modal dialog, alt text, and a panel whose kernel restarted (each check listed when it
fails). Screenshots are saved next to the test's temporary files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import (
    POLL_MS,
    open_notebook,
    open_notebook7,
    run_all_cells,
    run_cell,
    screenshot,
    wait_for_widget,
    write_notebook,
)
from .panel_keys_steps import keys_problems
from .panel_steps import PANEL_CELL, emulator_env

RESTART_JS = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
IDLE_JS = (
    "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'"
)


@pytest.mark.browser
@pytest.mark.parametrize("front_end", ["lab", "notebook7"])
def test_panel_keys(front_end: str, start_lab: Any, page: Any, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "notebooks" / "keys.ipynb", [PANEL_CELL, "1 + 1"])
    with emulator_env(tmp_path) as emu:
        server = start_lab(nb.parent, env=emu.env)
        if front_end == "lab":
            open_notebook(page, server, "keys.ipynb")
            run_cell(page, 0)
        else:
            open_notebook7(page, server, "keys.ipynb")
            run_all_cells(page)
        panel = wait_for_widget(page, ".klein-panel")

        def restart() -> None:
            page.evaluate(RESTART_JS)
            page.wait_for_function(IDLE_JS, timeout=90_000, polling=POLL_MS)

        problems = keys_problems(page, panel, emu.running, tmp_path, restart)
        screenshot(page, tmp_path / f"keys-{front_end}.png")
    assert problems == [], "\n".join(problems)
