"""The session's and the emulator's keyword options are typed: checkers and IDEs see them,
and each typed list is held equal to the one it stands for."""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import httpx
import pytest

import klein_widget
from klein_widget import AsyncKleinClient, KleinClient
from klein_widget._session import ClientOptions

ROOT = Path(__file__).resolve().parents[2]
# What the session passes itself rather than taking from `configure`'s client options.
SESSION_OWNED = {
    "api_key",
    "base_url",
    "http_client",
    "sleep",
    "ledger",
    "journal",
    "gallery",
    "on_image",
}


@pytest.mark.parametrize("client", [KleinClient, AsyncKleinClient])
def test_client_options_are_the_clients_keywords(client: type) -> None:
    parameters = inspect.signature(client).parameters
    names = set(parameters) - SESSION_OWNED
    options = typing.get_type_hints(ClientOptions)
    assert set(options) == names  # no client keyword the session cannot pass on
    where = vars(sys.modules[client.__module__])
    assert {name: eval(parameters[name].annotation, where) for name in names} == options
    assert not ClientOptions.__required_keys__


async def test_a_pool_goes_to_the_client_of_its_kind(live_env: str) -> None:
    session = klein_widget.session()
    with httpx.Client(base_url=live_env) as blocking:
        async with httpx.AsyncClient(base_url=live_env) as awaited:
            session.configure(http_client=blocking)
            session.configure(http_client=awaited, timeout=30.0)
            assert session.client()._http is blocking
            assert session.async_client()._http is awaited
            assert session.client().timeout == session.async_client().timeout == 30.0
            await session.async_client().aclose()


def test_configure_keeps_what_is_not_given(tmp_path: Path) -> None:
    session = klein_widget.session()
    session.configure(gallery=tmp_path / "class", timeout=12.0)
    session.configure(base_url="http://127.0.0.1:9")
    assert session.gallery is not None
    assert session.gallery.path == tmp_path / "class"
    assert session.client().timeout == 12.0
    session.configure(gallery=False)
    assert session.gallery is None


@pytest.mark.slow
def test_type_checkers_see_every_knob(tmp_path: Path) -> None:
    # The point of typing them: a misspelt or mistyped knob is caught before it runs.
    snippet = tmp_path / "uses.py"
    snippet.write_text(
        "import klein_widget\n"
        "from klein_widget.emulator import Emulator, create_app, start\n"
        "create_app(inference_tme=0.1)\n"
        "start(fail_rate='often')\n"
        "Emulator().configure(seed=3)\n"
        "klein_widget.use_emulator(concurrency=2, nsfw_rate=1.0, packs=['a.zip'])\n"
        "klein_widget.session().configure(timout=3)\n"
        "klein_widget.session().configure(poll=3)\n"
    )
    # A copy of the project's mypy cache (warm after `mypy`, as scripts/test.sh runs it first):
    # mypy re-checks only what changed since (it compares each module's hash and options), so
    # the snippet is checked against today's code in 0.4 CPU-s instead of 7; the project's own
    # cache is never written by the test. Without one, mypy checks everything from scratch.
    cache = tmp_path / "mypy-cache"
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", cache)
    found = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), str(snippet)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    ).stdout
    lines = {
        int(line.split(":")[1]) for line in found.splitlines() if line.startswith(str(snippet))
    }
    assert lines == {3, 4, 5, 7, 8}, found
