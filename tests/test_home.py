"""The test suite leaves the user's home alone.

Each test here runs a small pytest session in a subprocess with ``HOME`` pointed at an empty
temporary folder and none of the state variables set (``IPYTHONDIR``, ``JUPYTER_*``, ``XDG_*``,
``npm_config_*``), exactly as on a user's machine. That session loads this suite's own
``tests/conftest.py`` (``-p tests.conftest``) and browser harness, and does what the suite does:
a real IPython shell that stores history, a notebook run in a real kernel, JupyterLab with a
kernel, and Chromium opening it. Afterwards the fake home must still be empty.

The shell-and-kernel probe runs in one process, and again under pytest-xdist (two workers,
as ``scripts/test.sh`` runs the suite, where each worker sets up its own state folders) in one
session with the Lab-and-Chromium probe, each module on a worker of its own.
A control run without ``tests/conftest.py`` shows the probe is sensitive: the same shell and
kernel then write ``~/.ipython``. Removing the isolation from ``tests/conftest.py`` or
``tests/browser/harness.py`` makes these tests fail and name what was written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import HOME_STATE_VARS

ROOT = Path(__file__).resolve().parents[1]

SHELL_AND_KERNEL = """
import nbformat
from IPython.core.interactiveshell import InteractiveShell

from tests.kernels import execute


def test_shell_and_kernel(tmp_path):
    shell = InteractiveShell.instance()
    assert shell.run_cell("answer = 6 * 7", store_history=True).result is None
    shell.history_manager.writeout_cache()  # what the shell does on exit
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    execute(notebook, resources={"metadata": {"path": str(tmp_path)}})
    assert notebook.cells[0].outputs[0]["text"] == "42\\n"
"""

LAB_AND_CHROMIUM = """
from playwright.sync_api import sync_playwright

from tests.browser.harness import launch_chromium, open_notebook, start_lab, write_notebook


def test_lab_and_chromium(tmp_path):
    notebook = write_notebook(tmp_path / "nb" / "probe.ipynb", ["6 * 7"])
    server = start_lab(notebook.parent, tmp_path / "lab")
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page()
            open_notebook(page, server, "probe.ipynb")
            browser.close()
    finally:
        server.stop()
"""


def _user_environment(home: Path) -> dict[str, str]:
    """This process's environment as a user's shell would have it, with HOME at ``home``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in HOME_STATE_VARS
        and not name.startswith(("XDG_", "JUPYTER", "PYTEST_"))
        and not name.lower().startswith("npm_config_")
    }
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    return env


def _run_probe(
    tmp_path: Path, sources: dict[str, str], *, with_conftest: bool = True, workers: int = 0
) -> list[str]:
    """Run ``sources`` (file name: source) as test modules in a fresh pytest; return what they
    left in HOME. Under xdist each module goes to one worker (``--dist loadfile``)."""
    home = tmp_path / "home"
    home.mkdir()
    probe = tmp_path / "probe"
    probe.mkdir()
    for name, source in sources.items():
        (probe / name).write_text(source)
    (probe / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    plugins = ["-p", "tests.conftest"] if with_conftest else []
    parallel = ["-p", "xdist", "-n", str(workers), "--dist", "loadfile"] if workers else []
    run = subprocess.run(
        [*(sys.executable, "-m", "pytest", *plugins, *parallel), *("-q", "-x", str(probe))],
        cwd=probe,
        env=_user_environment(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, f"the probe session failed:\n{run.stdout}\n{run.stderr}"
    assert f"{len(sources)} passed" in run.stdout, run.stdout
    return sorted(str(path.relative_to(home)) for path in home.rglob("*"))


def test_shell_and_kernel_leave_home_alone(tmp_path: Path) -> None:
    written = _run_probe(tmp_path, {"test_shell.py": SHELL_AND_KERNEL})
    assert written == [], f"the test suite wrote into the user's home: {written}"


def test_the_probe_sees_writes_without_the_isolation(tmp_path: Path) -> None:
    written = _run_probe(tmp_path, {"test_shell.py": SHELL_AND_KERNEL}, with_conftest=False)
    assert ".ipython/profile_default/history.sqlite" in written, written


@pytest.mark.browser
def test_xdist_workers_with_lab_and_chromium_leave_home_alone(tmp_path: Path) -> None:
    sources = {"test_shell.py": SHELL_AND_KERNEL, "test_lab.py": LAB_AND_CHROMIUM}
    written = _run_probe(tmp_path, sources, workers=2)
    assert written == [], f"the test suite or its browser tests wrote into the home: {written}"
