"""No two classes share a name, and no constant is defined twice (issue 12: one rule, one
place). Two ``Job`` classes or two ``THUMBNAIL_SIDE`` constants read as one thing and
drift apart as two; this test reads every module of the package and fails on either.

Constants are module-level UPPER_CASE names bound by assignment (private ones too): a
name defined in two modules fails even if the values agree today, because nothing keeps
them agreeing. Import the one definition instead.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict
from pathlib import Path

from tests.unit.parsing import parse

PACKAGE = Path(__file__).resolve().parents[2] / "klein_widget"


@functools.cache  # parsed once per process: both checks read every module
def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(PACKAGE.parent)), parse(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _is_constant(name: str) -> bool:
    bare = name.lstrip("_")
    return bool(bare) and bare.upper() == bare and any(c.isalpha() for c in bare)


def _is_type_variable(value: ast.expr) -> bool:
    # T = TypeVar("T") is a name for a type, local to its module, not a constant.
    call = value.func if isinstance(value, ast.Call) else None
    name = call.id if isinstance(call, ast.Name) else getattr(call, "attr", "")
    return name in {"TypeVar", "ParamSpec", "TypeVarTuple"}


def class_definitions(modules: list[tuple[str, ast.Module]]) -> dict[str, list[str]]:
    """Every class name (nested ones too) and the modules that define it."""
    found: dict[str, list[str]] = defaultdict(list)
    for where, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                found[node.name].append(where)
    return found


def constant_definitions(modules: list[tuple[str, ast.Module]]) -> dict[str, list[str]]:
    """Every module-level UPPER_CASE name bound by assignment, and where, with its value."""
    found: dict[str, list[str]] = defaultdict(list)
    for where, tree in modules:
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            if _is_type_variable(value):
                continue
            for target in targets:
                if isinstance(target, ast.Name) and _is_constant(target.id):
                    found[target.id].append(f"{where} ({ast.unparse(value)[:40]})")
    return found


def duplicates(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: places for name, places in found.items() if len(places) > 1}


def test_no_two_classes_share_a_name() -> None:
    assert duplicates(class_definitions(_modules())) == {}


def test_no_constant_is_defined_twice() -> None:
    assert duplicates(constant_definitions(_modules())) == {}


def test_the_checks_can_fail() -> None:
    """Two modules with a class and a constant in common are both reported."""
    one = ast.parse("class Job: ...\nSIDE = 512\n_LIMIT: int = 3\nlower = 1\nT = TypeVar('T')\n")
    two = ast.parse(
        "def f():\n    class Job: ...\nSIDE = 1024\n_LIMIT = 3\nlower = 2\nT = TypeVar('T')\n"
    )
    modules = [("a.py", one), ("b.py", two)]
    assert duplicates(class_definitions(modules)) == {"Job": ["a.py", "b.py"]}
    assert duplicates(constant_definitions(modules)) == {
        "SIDE": ["a.py (512)", "b.py (1024)"],
        "_LIMIT": ["a.py (3)", "b.py (3)"],
    }
