"""tests/magic/magic_forms.ipynb run end to end in a real kernel (nbclient) on the emulator."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import nbformat

from tests.kernels import execute
from tests.magic.conftest import shown_image

NOTEBOOK = Path(__file__).with_name("magic_forms.ipynb")


def test_every_form_runs_in_a_kernel(live_env: str, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    replies: dict[int, str] = {}

    def record(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        replies[cell_index] = execute_reply["content"]["status"]

    # The kernel inherits $WAVESPEED_BASE_URL/KEY (the emulator) and $KLEIN_GALLERY.
    execute(
        notebook,
        timeout=60,
        resources={"metadata": {"path": str(tmp_path)}},
        on_cell_executed=record,
    )
    cells = {c.source.splitlines()[0]: c for c in notebook.cells if c.get("outputs")}

    def outputs(first_line: str, kind: str | None = None) -> list[Any]:
        found = cells[first_line].outputs
        return [o for o in found if kind is None or o.output_type == kind]

    def images(first_line: str) -> list[bytes]:
        found = [
            base64.b64decode(o.data["image/png"])
            if "image/png" in o.get("data", {})
            else shown_image(o.get("data", {}))
            for o in outputs(first_line)
        ]
        return [image for image in found if image is not None]

    # The last-expression form: a status line and one image, no second copy as a result.
    line = "%klein a red {animal} -W 256 -H 256 -s 1"
    status, _ = outputs(line)
    assert status.data["text/plain"].startswith("Done in ")
    assert "seed 1 · 256×256 · $0.008 simulated" in status.data["text/plain"]
    assert len(images(line)) == 1
    assert outputs(line, "execute_result") == []

    # The assigned form shows its image too, and the value is usable.
    assigned = "fox = %klein a red {animal} -W 256 -H 256 -s 1"
    assert len(images(assigned)) == 1
    assert outputs(assigned, "execute_result")[0].data["text/plain"] == "1"

    # Line and cell forms with the same arguments: the same image bytes.
    cell = "%%klein -W 256 -H 256 -s 1"
    assert images(line) == images(assigned) == images(cell)

    # -n: a grid with three thumbnails and a closing status line; no big images.
    grid = "foxes = %klein a {animal} -n 3 -s 10 -W 256 -H 256"
    html = [o.data["text/html"] for o in outputs(grid) if "text/html" in o.get("data", {})]
    assert len(html) == 1
    assert html[0].count("<img") == 3
    assert all(f"seed {s}" in html[0] for s in (10, 11, 12))
    assert images(grid) == []
    assert any(o.data.get("text/plain", "").startswith("3/3 done in ") for o in outputs(grid))

    # A later cell shows the returned image again.
    assert images("fox") == images(line)

    # A mistake: one UsageError line, the cell marked failed, nothing else shown.
    mistake = "%klein a {animal} -W 100"
    [stream] = outputs(mistake)
    assert stream.name == "stderr"
    assert stream.text.startswith("UsageError: width must be from 256 to 1536")
    assert stream.text.count("\n") == 1
    index = notebook.cells.index(cells[mistake])
    assert replies[index] == "error"

    # Every image made went to the shared history; the two later cells asking for the same
    # prompt, size and seed as the first were answered from the gallery, free.
    summary = outputs("import klein_widget", "execute_result")[0].data["text/plain"]
    assert summary == "(4, [10, 11, 12])"

    # Variants: a labelled grid, shown live once (not again as the cell's result).
    variants = "grid = %klein a {red|blue} {animal} -s 20,21 -W 256 -H 256"
    shown = [o.data["text/html"] for o in outputs(variants) if "text/html" in o.get("data", {})]
    assert len(shown) == 1
    assert shown[0].count("<img ") == 4
    assert "<mark" in shown[0]
    assert "a red fox" in shown[0]
    assert any("2 prompts x 2 seeds = 4 images" in o.get("text", "") for o in outputs(variants))
    # The changed words are marked without colour too (issue 28 item 8).
    assert "text-decoration: underline" in shown[0]
    assert "font-weight: 700" in shown[0]
    # Nothing under the grid: no "CompareResult(...)" echo as the cell's result.
    assert outputs(variants, "execute_result") == []
