"""A lesson's menu cell, answered from the teacher's pack for a student with no key.

The teacher runs lesson 02's lighting grid with a key (here on an emulator that answers as
the real service does, so the pack holds real images) and packs the gallery; a student on an
emulator, with an empty gallery and the pack attached, picks one of the menu's options: the
picture is the teacher's, free, and the student's emulator makes nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

from klein_widget import Gallery, Generation, KleinClient, PromptBuilder
from klein_widget.emulator import start
from klein_widget.lessons._compare import compare
from klein_widget.store import make_pack, open_pack
from tests.conftest import FAKE_KEY, fast_options
from tests.notebooks.test_notebooks import load

SEED = 7  # lesson 02's fixed seed


def _lights() -> list[str]:
    """The lighting menu, as lesson 02 writes it (the list ``lights = [...]``)."""
    for cell in load("02-prompt-engineering.ipynb").cells:
        if cell.cell_type != "code" or "lights = [" not in cell.source:
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "lights":
                return [str(light) for light in ast.literal_eval(node.value)]
    raise AssertionError("lesson 02 has no lights = [...] menu")


def test_the_lesson_marks_its_menu_cells() -> None:
    menus = [
        c for c in load("02-prompt-engineering.ipynb").cells if "menu" in c.metadata.get("tags", [])
    ]
    assert any("lights[choice - 1]" in c.source for c in menus)


def test_a_keyless_students_menu_choice_comes_from_the_teachers_pack(tmp_path: Path) -> None:
    step = PromptBuilder(
        "a tall striped lighthouse on a rocky headland, waves breaking below",
        style="a vintage travel poster",
    )
    options = [step.with_(lighting=light) for light in _lights()]
    with (
        start(port=0, inference_time=0.01, simulated=False) as teachers,
        start(port=0, inference_time=0.01) as own,
    ):
        teacher = KleinClient(
            FAKE_KEY, teachers.base_url, gallery=Gallery(tmp_path / "teacher"), **fast_options()
        )
        with teacher:
            grid = compare(options, seeds=[SEED], client=teacher, display=False)
        assert grid.errors == []
        make_pack(tmp_path / "teacher", tmp_path / "lesson-02.zip")

        pack = open_pack(tmp_path / "lesson-02.zip", verify=True)
        student_gallery = Gallery(tmp_path / "student", packs=[pack])
        with KleinClient(FAKE_KEY, own.base_url, gallery=student_gallery, **fast_options()) as me:
            choice = 3  # the menu cell's default: moonlight
            mine = compare([options[choice - 1]], seeds=[SEED], client=me, display=False)
        picked = mine.generations[0]
        assert isinstance(picked, Generation)
        assert picked.from_pack
        assert not picked.simulated  # the teacher's real picture answers at once
        assert picked.cost == 0
        teachers_picture = grid.generations[choice - 1]
        assert isinstance(teachers_picture, Generation)
        assert picked.image == teachers_picture.image
        assert own.emulator.accepted == 0  # the student's emulator made nothing
