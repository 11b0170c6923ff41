"""The package's public surface and import cost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import klein_widget


def test_all_is_sorted_complete_and_importable() -> None:
    names = klein_widget.__all__
    assert list(names) == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert getattr(klein_widget, name) is not None, name
    public = {n for n in vars(klein_widget) if not n.startswith("_") and n not in ("annotations",)}
    modules = {n for n in public if type(getattr(klein_widget, n)).__name__ == "module"}
    assert public - modules - {"TYPE_CHECKING", "Any", "importlib"} <= set(names)


def test_importing_the_package_loads_nothing_it_needs_only_on_first_use() -> None:
    # No widget, IPython or emulator; and the event loop, the gallery's SQLite and packs and
    # the session load when a client, the session or a door is first touched, not at import.
    code = (
        "import sys, klein_widget; "
        "heavy = ('ipywidgets', 'IPython', 'klein_widget.emulator', 'starlette', 'asyncio', "
        "'sqlite3', 'klein_widget.store', 'klein_widget._session'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_lazy_names_are_the_real_ones() -> None:
    from klein_widget._connect import use_emulator
    from klein_widget.client._sync_client import KleinClient

    assert klein_widget.KleinClient is KleinClient
    assert klein_widget.use_emulator is use_emulator
    assert set(klein_widget.__all__) <= set(dir(klein_widget))


def test_every_public_name_has_a_docstring() -> None:
    for name in klein_widget.__all__:
        value = getattr(klein_widget, name)
        if callable(value):
            assert value.__doc__, f"{name} has no docstring"


def test_importing_creates_no_session_and_a_plain_client_still_journals(tmp_path: Path) -> None:
    # No session at import; a client made without the session (as `klein` makes one) journals
    # into the default gallery ($KLEIN_GALLERY here) all the same, and its repr says where.
    code = (
        "import sys, klein_widget, klein_widget._session as s; print(s._SESSION is None); "
        "from klein_widget.client._sync_client import KleinClient; "
        "print(repr(KleinClient('k', 'http://127.0.0.1:9'))); "
        "print('klein_widget._session' in sys.modules and s._SESSION is None)"
    )
    env = {**os.environ, "KLEIN_GALLERY": str(tmp_path / "g")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    fresh, client, still_none = out.stdout.splitlines()
    assert fresh == "True"
    assert f"journal=Gallery({str(tmp_path / 'g')!r})" in client
    assert still_none == "True"


def test_a_clients_repr_names_what_it_journals_to() -> None:
    off = klein_widget.KleinClient("k", "http://127.0.0.1:9", gallery=False)
    assert repr(off).endswith("journal=None)")
    session = klein_widget.session()
    shared = session.client()
    assert session.gallery is not None
    assert shared.journal is session.gallery
    assert f"journal={session.gallery!r}" in repr(shared)
