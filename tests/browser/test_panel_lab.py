"""The klein panel in JupyterLab: Ctrl+Enter, Generate, restore from history, Escape cancels,
lightbox, Download and Copy; no horizontal scrollbar at 600/900/1400 px, light and dark.

Screenshots are saved next to the test's temporary files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .family_steps import EDIT_SIZE, drive_family
from .harness import (
    POLL_MS,
    open_notebook,
    run_cell,
    screenshot,
    timed,
    wait_for_widget,
    wait_kernel_idle,
    write_notebook,
)
from .panel_steps import (
    PANEL_CELL,
    check_image_tools,
    check_layout,
    drive_panel,
    emulator_env,
    wait_image,
)

SECOND_VIEW = "panel  # a second view of the same panel"


def busy_until(flag: Path) -> str:
    """A cell that keeps the kernel busy (so it answers the panel's view late) until the test
    has seen the view wait and creates ``flag``; bounded, in case the test never does."""
    return (
        "import pathlib, time\n"
        "deadline = time.monotonic() + 90\n"
        f"while not pathlib.Path({str(flag)!r}).exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)"
    )


@pytest.mark.browser
def test_panel_in_lab(start_lab: Any, page: Any, tmp_path: Path) -> None:
    answer = tmp_path / "answer-the-view"
    cells = [PANEL_CELL, SECOND_VIEW, busy_until(answer)]
    nb = write_notebook(tmp_path / "notebooks" / "panel.ipynb", cells)
    with emulator_env(tmp_path) as emu:
        with timed("lab: server up"):
            server = start_lab(nb.parent, env=emu.env)
        with timed("lab: kernel idle"):
            open_notebook(page, server, "panel.ipynb")
        with timed("lab: panel shown"):
            run_cell(page, 0)
            run_cell(page, 2)  # queued before the view's hello: the kernel is busy
            panel = wait_for_widget(page, ".klein-panel")
        # Until its kernel answers, a view says it is not connected and the static
        # fallback (the output a saved notebook keeps) shows; once it answers, the live
        # panel shows and the fallback hides.
        fallback = page.locator(".klein-fallback")
        expect(fallback).to_have_count(1)
        note = panel.locator(".kp-offline-note")
        expect(note).to_be_visible(timeout=15_000)
        expect(note).to_contain_text("not connected to its kernel")
        expect(fallback).to_be_visible()
        expect(panel.get_by_label("Prompt", exact=True)).to_be_hidden()
        screenshot(page, tmp_path / "panel-waiting-for-kernel.png")
        answer.touch()  # the kernel is free: it answers the view
        expect(note).to_be_hidden(timeout=30_000)
        expect(fallback).to_be_hidden()
        with timed("lab: two images, a restore, a cancel"):
            drive_panel(page, panel, emu.running, tmp_path)
        with timed("lab: lightbox, download, copy"):
            check_image_tools(page, panel, tmp_path)
        with timed("lab: model picker, reference tray"):
            drive_family(page, panel, tmp_path)  # the dark check below sees edit mode
        page.evaluate(
            "() => window.jupyterapp.commands.execute("
            "'apputils:change-theme', {theme: 'JupyterLab Dark'})"
        )
        page.wait_for_function(
            "() => document.body.dataset.jpThemeLight === 'false'", polling=POLL_MS
        )
        check_layout(page, panel, tmp_path, "dark")
        # The fallback output was updated with the last image, by its display id.
        html = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0)"
            ".toJSON().outputs.map(o => (o.data || {})['text/html'] || '').join('')"
        )
        assert "data:image/jpeg;base64," in html
        assert "seed" in html

        # A second view of the same panel, and a reloaded page, still get the image shown;
        # the second view in the same page takes it from the page's store (nothing sent).
        kernel = server.kernel()
        sent = kernel.eval("panel.shower.transfer.transfers")
        run_cell(page, 1)
        second = page.locator(".klein-panel").nth(1)
        second.wait_for(state="visible", timeout=60_000)
        wait_image(second, *EDIT_SIZE)  # the image shown last: drive_family's edit
        assert kernel.eval("panel.shower.transfer.transfers") == sent
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", polling=POLL_MS
        )
        page.reload()
        wait_kernel_idle(page)
        reloaded = wait_for_widget(page, ".klein-panel")
        wait_image(reloaded, *EDIT_SIZE)
        screenshot(page, tmp_path / "panel-reloaded.png")
        assert kernel.eval("panel.shower.transfer.transfers") == sent + 1  # asked once
        kernel.close()
