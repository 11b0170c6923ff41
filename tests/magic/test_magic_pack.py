"""``%klein --pack``: a lesson pack attached from the magic line answers what it holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from klein_widget import Generation
from klein_widget.store import make_pack
from klein_widget.store._attached import detach_packs
from tests.magic.conftest import Shell
from tests.store.packs import teach


@pytest.fixture
def pack(tmp_path: Path) -> Iterator[Path]:
    teach(tmp_path / "teacher")
    make_pack(tmp_path / "teacher", tmp_path / "lesson.zip")
    yield tmp_path / "lesson.zip"
    detach_packs()  # attached to the process by the magic: not for other tests


def test_pack_on_the_line_attaches_it_and_nothing_is_sent(ipython: Shell, pack: Path) -> None:
    # A random seed first: its answer says the server simulates, so stand-ins may answer it.
    said = ipython.run("%klein a fox -W 256 -H 256")
    assert said.error is None, said.stderr
    ran = ipython.run(f"%klein --pack {pack} a paper boat on a puddle -W 256 -H 256 -s 1")
    assert ran.error is None, ran.stderr
    gen = ran.value
    assert isinstance(gen, Generation)
    assert gen.from_pack == "lesson.zip"
    assert ran.sent == 0
    assert ran.texts[0].startswith(
        "From your lesson pack (lesson.zip, emulator stand-in) · seed 1 · 256×256"
    )
    assert "Using the lesson pack lesson.zip" in ran.stdout

    # Attached for the session: a grid of the pack's seeds sends nothing either.
    grid = ipython.run("%klein a paper boat on a puddle -W 256 -H 256 -s 1 -n 2")
    assert grid.error is None, grid.stderr
    assert grid.sent == 0
    assert [g.from_pack for g in grid.value] == ["lesson.zip", "lesson.zip"]


def test_a_bad_pack_is_a_usage_error(ipython: Shell, tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"nope")
    ran = ipython.run(f"%klein --pack {tmp_path / 'bad.zip'} a fox -s 1")
    assert isinstance(ran.error, UsageError)
    assert "is refused: it is not a readable zip file" in str(ran.error)
    assert ran.sent == 0
