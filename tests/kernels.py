"""Every kernel the tests start talks over Unix sockets (transport ``ipc``), never TCP ports.

Why: with TCP, jupyter_client picks free ports and the kernel binds them a moment later; any
other process (a parallel test's server, another kernel) can take one in between, and the
kernel dies with ``zmq.error.ZMQError: Address already in use`` while its client waits out
its timeout. Unix sockets have no ports to race for.

Two things matter with ipc:

- a socket's path is at most ~107 bytes, and pytest's tmp paths are long: the sockets go
  in a short private folder under ``/tmp``;
- jupyter_client numbers a kernel's sockets (``<ip>-1`` … ``<ip>-5``) by checking which files
  exist, so two kernels starting at once with the same ``ip`` would pick the same ones: each
  kernel gets a folder (or, in a Jupyter server, a socket prefix) of its own. Paths are
  absolute, so the kernel (which runs in the notebook's folder) and its client agree.

Use :func:`execute` for a notebook (nbclient, as Restart & Run All), :func:`socket_folder`
with :func:`ipc_traits` for a ``KernelManager`` of one's own, :func:`ipc_arguments` for a
``jupyter nbconvert --execute``, and :data:`SERVER_ARGUMENTS` with :func:`short_folder`
for a Jupyter server (Lab, Notebook 7, Voila, a JupyterHub single-user server).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbformat import NotebookNode

#: Where the socket folders go: short, whatever ``$TMPDIR`` says.
SOCKET_ROOT = "/tmp"

#: For a Jupyter server: its kernels on ipc. Each kernel's sockets are then named after its
#: connection file (``<runtime dir>/kernel-<id>-ipc-<n>``), so give the server a short
#: runtime dir (:func:`short_folder`).
SERVER_ARGUMENTS = ("--KernelManager.transport=ipc",)


@contextmanager
def socket_folder() -> Iterator[Path]:
    """A new short private folder for one kernel's sockets and connection file, removed after.

    Example::

        with socket_folder() as folder:
            manager = KernelManager(kernel_name="python3", **ipc_traits(folder))
    """
    folder = Path(tempfile.mkdtemp(prefix="kernel-", dir=SOCKET_ROOT))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def short_folder() -> Path:
    """A new short private folder, removed when this process exits: a Jupyter server's
    Jupyter folders (``jupyter_env(short_folder())``), so that its runtime dir, where its
    kernels' connection files and sockets go, has a short path."""
    folder = Path(tempfile.mkdtemp(prefix="jupyter-", dir=SOCKET_ROOT))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def ipc_traits(folder: Path) -> dict[str, str]:
    """A ``KernelManager``'s traits that put its kernel's sockets and connection file in
    ``folder`` (from :func:`socket_folder`)."""
    return {
        "transport": "ipc",
        "ip": str(folder / "ipc"),
        "connection_file": str(folder / "kernel.json"),
    }


def ipc_arguments(folder: Path) -> list[str]:
    """The same as command-line options of a Jupyter app that starts one kernel
    (``jupyter nbconvert --execute``)."""
    return [f"--KernelManager.{name}={value}" for name, value in ipc_traits(folder).items()]


def execute(
    notebook: NotebookNode, *, env: Mapping[str, str] | None = None, **options: Any
) -> NotebookNode:
    """Run every cell of ``notebook`` in a new ``python3`` kernel on ipc (nbclient), in place;
    ``env`` is the kernel's whole environment (default: this process's), ``options`` go to
    ``NotebookClient`` (``timeout``, ``resources``, ``on_cell_executed``…); the kernel is
    killed after the last cell (``shutdown_kernel="immediate"``) and each cell's printed
    text is one output per stream (``coalesce_streams``) unless they say otherwise. Raises
    ``CellExecutionError`` on the first failing cell; returns ``notebook``.

    Example: ``execute(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}})``
    """
    # Here, not at the top: nbclient loads nbformat (jsonschema's grammars), over a CPU-second
    # for every process that collects a test module importing this one.
    from nbclient import NotebookClient
    from traitlets.config import Config

    with socket_folder() as folder:
        # As configuration, not a manager of our own: nbclient shuts down only a kernel
        # whose manager it made.
        config = Config({"KernelManager": ipc_traits(folder)})
        # Killed once the last cell has run, not asked to shut down: a graceful shutdown
        # waits a second or more for what the notebook started (an emulator, a gateway) to
        # stop, and no test reads anything a kernel does after its last cell.
        options.setdefault("shutdown_kernel", "immediate")
        # A cell's output as a front end shows it: the kernel sends a print's pieces in as
        # many messages as its output thread happened to flush ("24", " images…"), and
        # Jupyter shows them as one text; so does the notebook this returns.
        options.setdefault("coalesce_streams", True)
        client = NotebookClient(notebook, kernel_name="python3", config=config, **options)
        client.execute(**({} if env is None else {"env": dict(env)}))
    return notebook
