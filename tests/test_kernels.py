"""The tests' kernels (tests/kernels.py) talk over Unix sockets in a short folder of their own,
and bind no TCP port that a client chose: no port for another process to take first."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.kernels import SOCKET_ROOT, execute

# What the kernel itself says: its transport and address, the sockets it holds.
PROBE = r"""
import json, os
from ipykernel.kernelapp import IPKernelApp

held = set()  # the inodes of the sockets this process holds
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if target.startswith("socket:["):
        held.add(target[8:-1])

def rows(table):
    with open(f"/proc/self/net/{table}") as f:
        return [line.split() for line in f.read().splitlines()[1:]]

tcp = [int(r[1].rsplit(":", 1)[1], 16) for t in ("tcp", "tcp6") for r in rows(t) if r[9] in held]
unix = [r[7] for r in rows("unix") if r[6] in held and len(r) > 7]
app = IPKernelApp.instance()
print(json.dumps({
    "pid": os.getpid(), "transport": app.transport, "ip": app.ip,
    "connection_file": app.connection_file,
    "tcp": sorted(tcp), "pipe": app.iopub_thread._pipe_port, "unix": sorted(set(unix)),
}))
"""


@pytest.mark.slow
def test_a_kernel_of_the_tests_uses_unix_sockets_only(tmp_path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    # The kernel runs in another folder than this process: the paths must be absolute.
    execute(notebook, timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    seen = json.loads(notebook.cells[0].outputs[0]["text"])

    assert seen["transport"] == "ipc"
    folder = Path(seen["ip"]).parent
    assert folder.parent == Path(SOCKET_ROOT)
    assert folder.name.startswith("kernel-")
    assert Path(seen["connection_file"]).parent == folder
    # Its one TCP socket is ipykernel's own pipe for subprocesses' output, which the kernel
    # binds to a port the system picks (no race): none of the channels a client chose.
    assert seen["tcp"] == [seen["pipe"]]
    # Its five channels (shell, iopub, stdin, control, heartbeat), bound in its own folder,
    # each path well under the ~107 bytes a Unix socket's address may have.
    bound = [Path(path) for path in seen["unix"]]
    assert sorted(p.name for p in bound) == [f"ipc-{n}" for n in range(1, 6)], bound
    assert all(p.parent == folder and len(str(p)) < 100 for p in bound)
    assert not folder.exists()  # removed with the kernel
    with pytest.raises(ChildProcessError):  # which was shut down and reaped, not left running
        os.waitpid(seen["pid"], os.WNOHANG)


def test_a_print_sent_in_pieces_is_one_output_as_jupyter_shows_it(tmp_path: Path) -> None:
    import nbformat

    # Two messages on the kernel's side, as when its output thread flushes mid-print.
    source = 'print(24, end="", flush=True)\nprint(" images in lesson-03.zip")'
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    execute(notebook, timeout=60, resources={"metadata": {"path": str(tmp_path)}})
    assert notebook.cells[0].outputs == [
        {"output_type": "stream", "name": "stdout", "text": "24 images in lesson-03.zip\n"}
    ]
