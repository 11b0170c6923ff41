"""Issue 23 in JupyterLab: slider arrow keys, the seed box, the lightbox as a modal dialog,
alt text, and a panel whose kernel restarted (each check listed when it fails).

Screenshots are saved next to the test's temporary files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import (
    open_notebook,
    run_cell,
    screenshot,
    wait_for_widget,
    wait_kernel_idle,
    write_notebook,
)
from .panel_keys_steps import (
    check_alt_text,
    check_lightbox,
    check_lost_kernel,
    check_seed_box,
    check_slider_keys,
    make_two,
)
from .panel_steps import PANEL_CELL, emulator_env

RESTART_JS = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"


@pytest.mark.browser
def test_panel_keys_in_lab(start_lab: Any, page: Any, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "notebooks" / "keys.ipynb", [PANEL_CELL, "1 + 1"])
    with emulator_env(tmp_path) as emu:
        server = start_lab(nb.parent, env=emu.env)
        open_notebook(page, server, "keys.ipynb")
        run_cell(page, 0)
        panel = wait_for_widget(page, ".klein-panel")
        panel.get_by_label("Prompt", exact=True).wait_for(state="visible", timeout=30_000)
        make_two(panel)
        problems = check_alt_text(panel)
        problems += check_slider_keys(page, panel)
        problems += check_seed_box(panel, emu.running)
        problems += check_lightbox(page, panel, tmp_path)

        def restart() -> None:
            page.evaluate(RESTART_JS)
            wait_kernel_idle(page)

        problems += check_lost_kernel(page, panel, restart, tmp_path)
        screenshot(page, tmp_path / "keys-lab.png")
    assert problems == [], "\n".join(problems)
