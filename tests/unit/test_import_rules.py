"""The package's imports point one way (docs/ARCHITECTURE.md draws it); this test keeps them so.

Every import in every module counts, also those inside functions and under
``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.parsing import parse

PACKAGE = Path(__file__).resolve().parents[2] / "klein_widget"

# For each part of the package, what it must never import (parts are subpackages or the
# top-level modules; "klein_widget.X" prefixes, or third-party top-level names).
DOORS = ("klein_widget.widget", "klein_widget.magic", "klein_widget.lessons")
GATEWAY = "klein_widget.gateway"  # a server of its own: only the CLI starts it
SERVING = "klein_widget.serving"  # what both servers share; it imports neither
ABOVE_CLIENT = (
    GATEWAY,
    SERVING,
    "klein_widget.store",
    "klein_widget.ui",
    "klein_widget.emulator",
    "klein_widget._session",
    "klein_widget.__main__",
    "klein_widget.cli",
    *DOORS,
)
# What neither the emulator nor serving/ (the code both servers share) builds on.
UNDER_SERVERS = (
    "klein_widget.store",
    "klein_widget.ui",
    "klein_widget._session",
    "klein_widget.__main__",
    "klein_widget.cli",
    *DOORS,
    "ipywidgets",
    "IPython",
)
NEVER: dict[str, tuple[str, ...]] = {
    "client": (*ABOVE_CLIENT, "ipywidgets", "IPython", "traitlets", "anywidget", "sqlite3"),
    "store": (
        GATEWAY,
        SERVING,
        "klein_widget.ui",
        "klein_widget.emulator",
        "klein_widget._session",
        "klein_widget.__main__",
        "klein_widget.cli",
        *DOORS,
        "ipywidgets",
        "IPython",
    ),
    "ui": (
        GATEWAY,
        SERVING,
        "klein_widget.store",
        "klein_widget.emulator",
        "klein_widget._session",
        "klein_widget.__main__",
        "klein_widget.cli",
        *DOORS,
    ),
    "emulator": (GATEWAY, *UNDER_SERVERS),
    # Both servers build on it (the wire format, the HTTP plumbing): it builds on the
    # client alone.
    "serving": (GATEWAY, "klein_widget.emulator", "klein_widget._connect", *UNDER_SERVERS),
    "lessons": (GATEWAY, "klein_widget.widget", "klein_widget.magic"),
    "widget": (GATEWAY, "klein_widget.magic", "klein_widget.lessons"),
    "magic": (GATEWAY,),
    # The gateway forwards through the client, keeps images in the store and shares the
    # wire format and HTTP plumbing with the emulator (serving/); it is no notebook door,
    # reads no session, and does not build on the emulator (see ALLOWED for the rehearsal).
    "gateway": (
        "klein_widget.emulator",
        "klein_widget.ui",
        "klein_widget._session",
        "klein_widget._connect",
        "klein_widget.__main__",
        "klein_widget.cli",
        *DOORS,
        "ipywidgets",
        "IPython",
        "traitlets",
        "anywidget",
    ),
    # The CLI is a door for a terminal: it reads no notebook's session and loads no widgets.
    "cli": ("klein_widget._session", "ipywidgets", "IPython", "traitlets", *DOORS),
}

# Exceptions to NEVER, each with its reason. An entry allows itself, what is under it, and
# the package it is imported from (``from klein_widget.emulator import create_app`` names
# ``klein_widget.emulator`` too), nothing else of that package.
ALLOWED: dict[str, tuple[str, ...]] = {
    # `klein emulator --pack` serves lesson packs through the one reader and its checks.
    "emulator": ("klein_widget.store._pack",),
    # `klein gateway --upstream emulator` (a rehearsal) runs an emulator in-process: its
    # public `create_app`, imported lazily in gateway/_upstream.py, is the one edge.
    "gateway": ("klein_widget.emulator.create_app",),
    # A client's default journal is the store's gallery, its batch bar and spend question the
    # UI's: three lazy imports in client/_journal.py (a plain `KleinClient()` journals to the
    # default gallery), visible here instead of a registry filled at import.
    "client": (
        "klein_widget.store._place.resolve_gallery",
        "klein_widget.ui._progress.progress_bar",
        "klein_widget.ui._progress.ask",
    ),
}


def is_allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """True if ``name`` is an allowed import, under one, or the package one comes from."""
    return any(
        name == ok or name.startswith(ok + ".") or ok.rpartition(".")[0] == name for ok in allowed
    )


@functools.cache  # read once per process: two tests walk every module
def imported_names(path: Path) -> frozenset[str]:
    """Every module name a file imports, resolved to absolute dotted names."""
    tree = parse(path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the package imports one way"
            base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(names)


def part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        forbidden = NEVER.get(part_of(path), ())
        allowed = ALLOWED.get(part_of(path), ())
        for name in sorted(imported_names(path)):
            if is_allowed(name, allowed):
                continue
            for banned in forbidden:
                if name == banned or name.startswith(banned + "."):
                    found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_imports_point_one_way() -> None:
    assert violations() == []


def test_nothing_but_the_cli_imports_the_gateway() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if part_of(path) not in ("cli", "gateway")
        for name in sorted(imported_names(path))
        if name == GATEWAY or name.startswith(GATEWAY + ".")
    ]
    assert found == []


def private_of_another_library(name: str) -> bool:
    """True if ``name`` (an imported module or name) is another library's private part."""
    parts = name.split(".")
    return parts[0] != "klein_widget" and any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in parts
    )


def test_nothing_private_of_another_library_is_imported() -> None:
    # Its maintainers may change it in any release (issue 27): take the public API, or
    # write the few lines here.
    assert private_of_another_library("starlette._utils.get_route_path")
    assert not private_of_another_library("klein_widget.client._models")
    assert not private_of_another_library("__future__.annotations")
    found = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in sorted(imported_names(path))
        if private_of_another_library(name)
    ]
    assert found == []


def test_the_rules_can_fail(tmp_path: Path) -> None:
    """The checker sees an upward import, a lazy one and one under TYPE_CHECKING."""
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from klein_widget.store._gallery import Gallery\n"
        "def f():\n    import ipywidgets\n    from klein_widget import _session\n"
    )
    assert imported_names(module) >= {
        "klein_widget.store._gallery",
        "ipywidgets",
        "klein_widget._session",
    }


def test_the_gateway_may_import_create_app_of_the_emulator_and_nothing_else() -> None:
    allowed = ALLOWED["gateway"]
    assert is_allowed("klein_widget.emulator", allowed)  # from klein_widget.emulator import ...
    assert is_allowed("klein_widget.emulator.create_app", allowed)
    assert not is_allowed("klein_widget.emulator.Emulator", allowed)
    assert not is_allowed("klein_widget.emulator._http", allowed)
    assert not is_allowed("klein_widget.emulator._http.Problem", allowed)


@pytest.mark.parametrize("part", sorted(NEVER))
def test_every_part_exists(part: str) -> None:
    assert (PACKAGE / part / "__init__.py").exists()


def test_importing_the_package_loads_no_widgets_ipython_or_emulator() -> None:
    code = (
        "import sys, klein_widget\n"
        "heavy = [m for m in ('ipywidgets', 'IPython', 'klein_widget.emulator', 'starlette',"
        " 'klein_widget.widget', 'klein_widget.magic', 'klein_widget.gateway',"
        " 'klein_widget.serving')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
