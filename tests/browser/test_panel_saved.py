"""A saved notebook with a panel, opened without its kernel: what people see.

A real kernel runs the notebook (``jupyter nbconvert --execute``, which is nbclient, and
keeps the widget state in the file, as nbclient does); the saved file is then
1. converted to HTML with ``jupyter nbconvert --to html`` (what nbviewer does) and opened
   in Chromium, with nothing reachable beyond loopback;
2. opened in JupyterLab, whose new kernel knows nothing of the panel (as after a restart).
Both must show the last image with its parameters, and no "model not found" or
"Error displaying widget". Screenshots are saved next to the test's temporary files.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import expect

from tests.kernels import ipc_arguments, socket_folder

from .harness import POLL_MS, jupyter_env, open_notebook, screenshot, timed, write_notebook
from .panel_steps import emulator_env

PROMPT, WIDTH, HEIGHT, SEED = "a saved fox <on> ice", 512, 256, 3
CELLS = [
    "import klein_widget\n"
    f"panel = klein_widget.panel(prompt={PROMPT!r}, width={WIDTH}, height={HEIGHT}, seed={SEED})\n"
    "panel",
    "gen = await panel.generate()\nprint(gen.seed)",
]
ERRORS = ("model not found", "Error displaying widget")
OPEN_JS = "(path) => window.jupyterapp.commands.execute('docmanager:open', {path})"
SETTLED = """() => {
  const notebook = window.jupyterapp.shell.currentWidget.node;
  const area = notebook.querySelector('.jp-Cell .jp-OutputArea');
  if (!area || area.textContent.includes('Loading widget')) return false;
  return area.querySelector('.klein-panel')
    ? area.querySelector('.klein-panel.kp-offline') !== null
    : area.textContent.includes('KleinPanel: the live panel shows here');
}"""


def execute(notebook: Path, env: dict[str, str]) -> Path:
    """Run ``notebook`` in a real kernel and save it with its outputs and widget state."""
    with socket_folder() as folder:
        subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--inplace", *ipc_arguments(folder), str(notebook)],
            env=env, check=True, capture_output=True, timeout=180,
        )  # fmt: skip
    return notebook


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on loopback, as nbviewer serves its HTML; yields the base URL."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def check_fallback(scope: Any) -> None:
    """The fallback card is shown with its image and parameters."""
    card = scope.locator(".klein-fallback")
    expect(card).to_have_count(1)
    expect(card).to_be_visible()
    expect(card).to_contain_text(PROMPT)
    expect(card).to_contain_text(f"seed {SEED} · {WIDTH}×{HEIGHT}")  # said once, as made
    expect(card).to_contain_text(f"seed={SEED},")  # the Python snippet
    picture = card.locator("img")
    expect(picture).to_have_attribute("alt", f"emulator stand-in for: {PROMPT}")
    size = picture.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [WIDTH, HEIGHT], size  # under the fallback's 512 px: kept as made


@pytest.mark.browser
def test_saved_notebook_in_nbviewer_html_and_in_lab(
    start_lab: Any, page: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "notebooks"
    with emulator_env(tmp_path) as emu, timed("saved: executed by nbclient"):
        env = jupyter_env(tmp_path / "jupyter-exec", emu.env)
        saved = execute(write_notebook(folder / "saved.ipynb", CELLS), env)
    notebook = nbformat.read(saved, as_version=4)
    assert notebook.metadata["widgets"]  # nbclient keeps the widget state

    with timed("saved: nbconvert --to html"):
        subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(saved)],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    with serve(folder) as url:
        page.goto(f"{url}/saved.html")
        check_fallback(page)
        text = page.locator("body").inner_text()
        assert not [e for e in ERRORS if e in text], text
        screenshot(page, tmp_path / "saved-nbconvert.png")

    # JupyterLab with a new kernel that knows nothing of the panel (no cell is run).
    with timed("saved: lab, a new kernel"):
        server = start_lab(folder)
        open_notebook(page, server, "saved.ipynb")
    output = page.locator(".jp-Cell").first.locator(".jp-OutputArea")
    # The widget manager settles: the view (if drawn from the saved widget state) finds
    # no kernel behind it and shrinks to a note, or the output's text form is shown.
    page.wait_for_function(SETTLED, timeout=30_000, polling=POLL_MS)
    check_fallback(output)
    screenshot(page, tmp_path / "saved-lab.png")
    text = output.inner_text()
    assert not [e for e in ERRORS if e in text], text

    # JupyterLab with no kernel at all: the file names none, and the user picks No Kernel.
    del notebook.metadata["kernelspec"]
    notebook.metadata.pop("language_info", None)  # else Lab starts a Python kernel for it
    nbformat.write(notebook, folder / "nokernel.ipynb")
    # Opened from the running Lab, as from its file browser (the app is not loaded again).
    page.evaluate(OPEN_JS, f"{server.prefix}nokernel.ipynb")
    page.get_by_role("dialog").get_by_role("button", name="No Kernel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(".jp-StatusBar-TextItem", has_text="No Kernel")).to_be_visible()
    page.wait_for_function(SETTLED, timeout=30_000, polling=POLL_MS)
    shown = page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    output = page.locator(f"[id='{shown}'] .jp-Cell").first.locator(".jp-OutputArea")
    check_fallback(output)
    screenshot(page, tmp_path / "saved-lab-no-kernel.png")
    text = output.inner_text()
    assert not [e for e in ERRORS if e in text], text
