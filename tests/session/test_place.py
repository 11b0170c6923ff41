"""Where the gallery goes by default: decided by where the caller runs, said or found, and
not by which modules happen to be imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import klein_widget
from klein_widget.store._place import default_folder, resolve_gallery, where_running
from tests.kernels import ipc_traits, socket_folder


def test_the_caller_says_where_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KLEIN_GALLERY")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_folder("notebook") == Path("klein-outputs")
    assert default_folder("script") == tmp_path / "data" / "klein-widget" / "gallery"
    notebook = klein_widget.Session(runs_in="notebook").gallery
    assert notebook is not None
    assert notebook.path == tmp_path / "klein-outputs"
    script = klein_widget.Session(runs_in="script").gallery
    assert script is not None
    assert script.path == tmp_path / "data" / "klein-widget" / "gallery"
    assert where_running() == "script"  # pytest is no notebook, whatever it imported


def test_each_owner_keeps_its_own_gallery(isolated: Path) -> None:
    # No process-wide cache: a client's gallery is its own object (on the same folder).
    first, second = resolve_gallery(), resolve_gallery()
    assert first is not None
    assert second is not None
    assert first is not second
    assert first.path == second.path == isolated


def test_a_script_that_imports_ipykernel_is_still_a_script(tmp_path: Path) -> None:
    # Importing ipykernel (or marimo) made a script write into ./klein-outputs before.
    code = (
        "import ipykernel.kernelapp, marimo\n"
        "from klein_widget.store._place import default_folder, where_running\n"
        "print(where_running(), default_folder().name)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    # Where bytecode goes (scripts/test.sh: inside .venv), or the script writes __pycache__
    # folders into the package's tree.
    bytecode = ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")
    env.update({name: os.environ[name] for name in bytecode if name in os.environ})
    said = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout.split()
    assert said == ["script", "gallery"]


@pytest.mark.slow
def test_a_running_kernel_is_a_notebook() -> None:
    from jupyter_client.manager import KernelManager

    with socket_folder() as folder:
        manager = KernelManager(kernel_name="python3", **ipc_traits(folder))
        manager.start_kernel()
        kernel = manager.client()
        kernel.start_channels()
        try:
            kernel.wait_for_ready(timeout=60)
            seen: list[str] = []
            kernel.execute_interactive(
                "from klein_widget.store._place import default_folder, where_running\n"
                "print(where_running(), default_folder())",
                timeout=60,
                output_hook=lambda msg: seen.append(msg["content"].get("text", "")),
            )
        finally:
            kernel.stop_channels()
            manager.shutdown_kernel(now=True)
    assert "".join(seen).split() == ["notebook", "klein-outputs"]
