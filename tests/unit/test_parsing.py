"""`tests.unit.parsing.parse` survives a collection that parses in the middle of a parse.

On CPython 3.11.7 a finaliser that parses, run by the collector while another parse builds
its tree, broke the outer parse with a `SystemError` (the shared depth counter of CPython
gh-106905); a thread that parses does the same from outside. Where the interpreter is fixed
(3.11.8 and later, or 3.12's collector, which runs only between bytecodes) this passes
either way.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

from tests.unit.parsing import parse


class _ParsesWhenCollected:
    """Garbage whose finaliser parses, as a thread's traceback formatting does."""

    me: object

    def __del__(self) -> None:
        ast.parse("x = 1")


def test_a_parse_outlives_a_collection_that_parses(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    # Statements nest 3 deep at most; the finaliser's parse starts 6 deeper (two frames), so
    # the shared count cannot come back to where the outer parse left it by chance.
    module.write_text("x = 1\n" * 2000)
    gc.collect()  # the next collection is due after the parse has made many nodes
    cycle = _ParsesWhenCollected()
    cycle.me = cycle
    del cycle
    tree = parse(module)
    gc.collect()  # the finaliser runs here, in this test, not in whatever parses next
    assert len(tree.body) == 2000
    assert gc.isenabled()
