"""Images and dollars each lesson makes, measured on the emulator.

The lessons and the teacher's guide state these figures ("About 12 images (about \\$0.10 with
a key)"); the notebook tests measure them on every run, and `check` fails when a stated
figure drifts more than `TOLERANCE` from the measurement. To print the table for
``docs/TEACHING.md`` and the figures to write in each lesson, run (no key needed):

    python -m tests.notebooks.lesson_costs

A measurement is a first Run All in a fresh folder: the images made (each at its model's price,
$0.008 for 4B, counted in the gallery's index) plus prompt-enhancer calls ($0.001 each, counted
in the emulator's log), what a real key would pay.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from klein_widget.client._models import (
    ENHANCER_MODEL_ID,
    PRICE_PER_ENHANCE_MILLS,
    PRICE_PER_IMAGE_MILLS,
)
from tests.kernels import execute

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "TEACHING.md"
TOLERANCE = 0.10  # a stated figure may be this far (a fraction) from the measured one
_MARK = "LESSON-COST "
# Images made: the rows of the gallery's index (every client of a lesson saves there; answers
# from the gallery or a pack add none), each at its model's price (an unconfirmed one at the
# family's highest, as budgets reserve it). Enhancer calls: the session emulator's log.
MEASURE_SOURCE = f"""
import json as _json, sqlite3 as _sqlite3
import klein_widget as _klein
from klein_widget.client._family import find_model as _find_model
_session = _klein.session()
_index = _session.gallery.path / "index.sqlite3"
_images = _mills = 0
if _index.exists():  # no gallery: nothing was saved, so nothing was made
    with _sqlite3.connect(_index) as _db:
        for _model, _count in _db.execute("SELECT model, COUNT(*) FROM images GROUP BY model"):
            _found = _find_model(_model)
            _images += _count
            _mills += _count * (_found.reserve_mills if _found else {PRICE_PER_IMAGE_MILLS})
_emulator = _session.emulator
_enhanced = _emulator.emulator.count("POST", "/api/v3/{ENHANCER_MODEL_ID}") if _emulator else 0
_mills += _enhanced * {PRICE_PER_ENHANCE_MILLS}
print({_MARK!r} + _json.dumps({{"images": _images, "mills": _mills}}))
"""
# "About 12 images (about \$0.10 with a key" in a lesson's first cell.
_STATED = re.compile(r"About (\d+) images? \(about \\?\$(\d+\.\d+) with a key")
# "| 02 · Prompt engineering | 45 min | 12 | \$0.10 |" in the guide's table.
_GUIDE_ROW = re.compile(r"^\| (\d\d) [^|]*\|[^|]*\| (\d+) \| \\?\$(\d+\.\d+) \|", re.MULTILINE)


@dataclass(frozen=True)
class Cost:
    """What one Run All of a lesson makes: images, and dollars with a key."""

    images: int
    dollars: float

    def __str__(self) -> str:
        return f"{self.images} images, ${self.dollars:.3f}"


def with_measure(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` with a last cell that prints the session's spend (see `measured`)."""
    notebook.cells.append(nbformat.v4.new_code_cell(MEASURE_SOURCE))
    return notebook


def measured(notebook: nbformat.NotebookNode) -> Cost:
    """The cost an executed `with_measure` notebook printed."""
    for cell in reversed(notebook.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            if output.get("output_type") == "stream" and _MARK in text:
                figures = json.loads(text.split(_MARK, 1)[1])
                return Cost(figures["images"], figures["mills"] / 1000)
    raise AssertionError("the notebook did not print its cost: was it run with_measure?")


def stated(name: str) -> Cost:
    """The figures the lesson's first cell states."""
    first = nbformat.read(NOTEBOOKS / name, as_version=4).cells[0].source
    found = _STATED.search(first)
    assert found, f"{name}: its first cell states no 'About N images (about $X with a key'"
    return Cost(int(found.group(1)), float(found.group(2)))


def in_guide(name: str) -> Cost:
    """The figures the teacher's guide's table states for lesson ``name`` (``02-...``)."""
    rows = {
        m.group(1): Cost(int(m.group(2)), float(m.group(3)))
        for m in _GUIDE_ROW.finditer(GUIDE.read_text(encoding="utf-8"))
    }
    assert name[:2] in rows, f"docs/TEACHING.md has no row for lesson {name[:2]}"
    return rows[name[:2]]


def _near(said: float, real: float) -> bool:
    return abs(said - real) <= TOLERANCE * max(real, 1e-9) or abs(said - real) < 0.006


def check(name: str, notebook: nbformat.NotebookNode) -> Cost:
    """Fail if the lesson or the guide states figures more than 10% off the measurement."""
    real = measured(notebook)
    for where, said in (("the lesson", stated(name)), ("docs/TEACHING.md", in_guide(name))):
        assert abs(said.images - real.images) <= TOLERANCE * max(real.images, 1), (
            f"{name}: {where} says {said.images} images, a run made {real} "
            "(python -m tests.notebooks.lesson_costs prints the figures)"
        )
        assert _near(said.dollars, real.dollars), f"{name}: {where} says {said}, a run made {real}"
    return real


def measure(name: str, where: Path) -> Cost:
    """Run lesson ``name`` on the emulator in the folder ``where`` and return its cost."""
    notebook = with_measure(nbformat.read(NOTEBOOKS / name, as_version=4))
    execute(notebook, timeout=300, resources={"metadata": {"path": str(where)}})
    return measured(notebook)


def main() -> None:
    """Measure every lesson in a fresh folder, with no key, and print the figures."""
    for name in ("WAVESPEED_API_KEY", "WAVESPEED_BASE_URL"):
        os.environ.pop(name, None)
    names = sys.argv[1:] or [path.name for path in sorted(NOTEBOOKS.glob("*.ipynb"))]
    for name in names:
        with tempfile.TemporaryDirectory() as folder:
            os.environ["KLEIN_GALLERY"] = str(Path(folder) / "klein-outputs")
            cost = measure(name, Path(folder))
        print(f"{name}: About {cost.images} images (about ${cost.dollars:.2f} with a key)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
