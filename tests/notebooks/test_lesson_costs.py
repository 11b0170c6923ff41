"""The cost check: a lesson whose stated figures drift more than 10% from a run fails."""

from __future__ import annotations

import nbformat
import pytest

from tests.notebooks import lesson_costs


def ran(images: int, mills: int) -> nbformat.NotebookNode:
    """A notebook as `with_measure` leaves it after a run that made ``images``."""
    notebook = lesson_costs.with_measure(nbformat.v4.new_notebook())
    text = f'LESSON-COST {{"images": {images}, "mills": {mills}}}\n'
    notebook.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return notebook


def test_figures_within_ten_percent_pass_and_drift_fails() -> None:
    said = lesson_costs.stated("02-prompt-engineering.ipynb")
    assert lesson_costs.in_guide("02-prompt-engineering.ipynb") == said
    mills = said.images * 8
    assert lesson_costs.check("02-prompt-engineering.ipynb", ran(said.images, mills)) == said
    drifted = said.images + said.images // 5 + 1  # the case: 29 said, 39 made
    with pytest.raises(AssertionError, match=f"says {said.images} images"):
        lesson_costs.check("02-prompt-engineering.ipynb", ran(drifted, drifted * 8 + 1))


def test_every_lesson_states_its_figures_in_the_lesson_and_the_guide() -> None:
    for path in sorted(lesson_costs.NOTEBOOKS.glob("*.ipynb")):
        assert lesson_costs.stated(path.name) == lesson_costs.in_guide(path.name), path.name
