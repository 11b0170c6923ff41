"""Execute a notebook end to end and report what it made (used by quickstart.sh).

Usage: python scripts/run_notebook.py notebooks/01-quickstart.ipynb [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config


def kernel_config(folder: Path) -> Config:
    """Kernel manager settings: talk to the kernel over IPC files in ``folder``, not TCP.

    Over TCP any local user can reach the kernel's ports, and ipykernel warns on every run
    that the traffic is unencrypted. IPC sockets are files in ``folder`` (a private temporary
    folder, mode 0700). ZeroMQ has no IPC on Windows, so there it stays on loopback TCP.
    """
    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        # The sockets are named after the connection file: ``folder/kernel-ipc-<port>``.
        config.KernelManager.connection_file = str(folder / "kernel.json")
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="where to write the executed copy")
    args = parser.parse_args()

    out = args.out or Path("klein-outputs") / args.notebook.name
    where = (
        "WaveSpeed (WAVESPEED_API_KEY is set)"
        if os.environ.get("WAVESPEED_API_KEY")
        else ("the local emulator (no WAVESPEED_API_KEY set)")
    )
    print(f"Running {args.notebook} on {where}...")
    notebook = nbformat.read(args.notebook, as_version=4)
    started, wall_started = time.monotonic(), time.time()
    with tempfile.TemporaryDirectory(prefix="klein-kernel-") as kernel_folder:
        client = NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(Path.cwd())}},
            config=kernel_config(Path(kernel_folder)),
        )
        try:
            client.execute()
        except CellExecutionError as error:
            print(f"A cell failed:\n{error}", file=sys.stderr)
            return 1
        finally:
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, out)

    gallery = Path(os.environ.get("KLEIN_GALLERY") or "klein-outputs")
    made = [
        path
        for path in gallery.glob("*/*")
        if path.suffix in (".png", ".jpg") and path.stat().st_mtime >= wall_started
    ]
    print(
        f"Done in {time.monotonic() - started:.1f} s: {len(notebook.cells)} cells ran, "
        f"{len(made)} images made."
    )
    print(f"Executed notebook with its outputs: {out}")
    print(f"The images are in {gallery}/, each with its prompt, size and seed embedded.")
    print(f"To work in it interactively: {open_in_lab_command(args.notebook)}")
    return 0


def open_in_lab_command(notebook: Path) -> str:
    """The shell command that opens ``notebook`` in JupyterLab from this Python's environment."""
    bin_dir = Path(sys.executable).parent
    with contextlib.suppress(ValueError):
        bin_dir = bin_dir.relative_to(Path.cwd())
    command = f"{bin_dir}/jupyter lab {notebook}"
    if importlib.util.find_spec("jupyterlab") is None:
        command = f"{bin_dir}/pip install jupyterlab && {command}"
    return command


if __name__ == "__main__":
    sys.exit(main())
