"""The batch, history and resume in a real kernel (nbclient) on the loopback emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from klein_widget import Gallery
from klein_widget.emulator import RunningEmulator
from tests.kernels import execute
from tests.store.conftest import SUBMIT_PATH

CELLS = [
    # 0: the kernel's loop is running while cells execute; the sync batch does not mind.
    "import asyncio, sys\n"
    "import klein_widget\n"
    "from klein_widget import KleinClient, PollSchedule\n"
    "client = KleinClient(poll=PollSchedule(fast=0.005, cap=0.05))\n"
    "print('loop running:', asyncio.get_event_loop().is_running())",
    # 1: a batch with its progress widget
    "result = client.generate_many(['a fox', 'a cat', 'an owl'], width=256, height=256, seed=1)\n"
    "print(repr(result))",
    # 2: over the cost threshold with no stdin: refused, not hung
    "try:\n"
    "    client.generate_many(['x'] * 2, width=256, height=256, confirm_over=0.01)\n"
    "except klein_widget.BudgetExceededError as error:\n"
    "    print('REFUSED', error)",
    # 3: the rerun skips everything
    "again = client.generate_many(['a fox', 'a cat', 'an owl'], width=256, height=256, seed=1,"
    " progress=False)\n"
    "print(repr(again))",
    # 4: history renders as HTML
    "klein_widget.history()",
    # 5: nest-asyncio was never needed
    "print('nest_asyncio' in sys.modules)",
]


def test_batch_in_a_kernel(live_emulator: RunningEmulator, live_env: str, isolated: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    submits = live_emulator.emulator.count("POST", SUBMIT_PATH)

    execute(notebook, timeout=60, resources={"metadata": {"path": str(isolated.parent)}})

    def text(index: int) -> str:
        return "".join(o.get("text", "") for o in notebook.cells[index].outputs)

    assert text(0).strip() == "loop running: True"
    outputs: list[Any] = notebook.cells[1].outputs
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1  # one progress box, not a text bar
    assert text(1).strip() == "BatchResult(3 items: 3 generated)"
    assert text(2).startswith("REFUSED This batch would generate 2 new images for $0.016")
    assert "There is no input to ask for confirmation, so nothing was sent." in text(2)
    assert text(3).strip() == "BatchResult(3 items: 0 generated, 3 from the gallery)"
    page = notebook.cells[4].outputs[0]["data"]["text/html"]
    assert page.count("<img") == 3
    assert text(5).strip() == "False"
    assert live_emulator.emulator.count("POST", SUBMIT_PATH) == submits + 3
    assert len(Gallery(isolated)) == 3

    # The saved widget state holds the finished bar: 3 of 3, marked a success.
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bars = [m["state"] for m in state.values() if m["model_name"] == "IntProgressModel"]
    assert len(bars) == 1
    assert (bars[0]["value"], bars[0]["max"], bars[0]["bar_style"]) == (3, 3, "success")
    labels = [m["state"]["value"] for m in state.values() if m["model_name"] == "LabelModel"]
    assert labels == ["klein batch: 3/3"]
