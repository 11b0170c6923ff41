"""The package's public surface and import cost."""

from __future__ import annotations

import subprocess
import sys

import klein_widget


def test_all_is_sorted_complete_and_importable() -> None:
    names = klein_widget.__all__
    assert list(names) == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert getattr(klein_widget, name) is not None, name
    public = {n for n in vars(klein_widget) if not n.startswith("_") and n not in ("annotations",)}
    modules = {n for n in public if type(getattr(klein_widget, n)).__name__ == "module"}
    assert public - modules - {"TYPE_CHECKING", "Any", "importlib"} <= set(names)


def test_importing_the_client_loads_no_widgets_ipython_or_emulator() -> None:
    code = (
        "import sys, klein_widget; "
        "bad = [m for m in ('ipywidgets', 'IPython', 'klein_widget.emulator', 'starlette') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_the_package_loads_nothing_it_needs_only_on_first_use() -> None:
    # The event loop, the gallery's SQLite and packs, the session and the widget load when a
    # client, the session or a door is first touched, not at `import klein_widget`.
    code = (
        "import sys, klein_widget; "
        "heavy = ('asyncio', 'sqlite3', 'klein_widget.store', 'klein_widget._session', "
        "'IPython', 'ipywidgets'); print([m for m in heavy if m in sys.modules])"
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
