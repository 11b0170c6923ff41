"""Fixtures for browser tests: Chromium pages, JupyterLab and Voila servers, failure reports.

Fixtures:
    browser      headless Debian Chromium (fails clearly if it is missing), one for each run
                 of consecutive browser tests in a process
    page         a fresh context and page per test; its browser console is kept
    start_lab    ``start_lab(root_dir, env=None) -> ServerProcess``: this test's view of the
                 process's shared JupyterLab server (also Notebook 7's pages), see
                 ``shared_lab.py``; its kernels end after the test
    start_voila  ``start_voila(notebook, env=None) -> ServerProcess``: ``notebook`` as a Voila
                 app, rendered by the shared Lab server's Voila extension; its kernels end
                 after the test
    start_voila_server  the same from a ``voila`` server of the test's own (the standalone
                 command), stopped after the test

After each test that used ``page`` a full-page screenshot is saved as
``<tmp_path>/screenshot.png`` (path printed and shown in the report); when a test fails, the
report also shows the browser console and each server's log.

Example::

    @pytest.mark.browser
    def test_button(start_lab, page, tmp_path):
        cells = ["import ipywidgets as w\\nw.Button(description='Go')"]
        nb = write_notebook(tmp_path / "nb" / "t.ipynb", cells)
        server = start_lab(nb.parent)
        open_notebook(page, server, "t.ipynb")
        run_all_cells(page)
        click_button(page, "Go")
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .harness import (
    VIEWPORT,
    ServerProcess,
    launch_chromium,
    require_chromium,
    screenshot,
)
from .harness import start_marimo as _start_marimo
from .harness import start_voila as _start_voila
from .shared_lab import SharedLab


@dataclass
class _Artifacts:
    """What the report hook needs about one test's browser run."""

    tmp_path: Path
    page: Any = None
    console: list[str] = field(default_factory=list)
    servers: list[ServerProcess] = field(default_factory=list)


_ARTIFACTS = pytest.StashKey[_Artifacts]()
NOT_LOOPBACK = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]|data:|blob:)")


def _artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> _Artifacts:
    node = request.node
    art: _Artifacts = node.stash.setdefault(_ARTIFACTS, _Artifacts(tmp_path))
    return art


class _Shared:
    """Chromium (with its Playwright) and the Lab server, kept from one browser test to the
    next in this process and ended when the next test is not a browser test.

    Not session fixtures: while sync Playwright runs, its event loop is marked as running in
    this thread, and an async test run after it would fail; an idle Lab would keep using a
    worker's CPU and memory while it runs the rest of the suite.
    """

    def __init__(self) -> None:
        self.playwright: Any = None
        self.chromium: Any = None
        self.lab: SharedLab | None = None

    def browser(self) -> Any:
        if self.chromium is None or not self.chromium.is_connected():
            self.close_browser()
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
            self.chromium = launch_chromium(self.playwright)
        return self.chromium

    def close_browser(self) -> None:
        if self.chromium is not None:
            with contextlib.suppress(Exception):
                self.chromium.close()
            self.chromium = None
        if self.playwright is not None:
            self.playwright.stop()
            self.playwright = None

    def close_lab(self) -> None:
        if self.lab is not None:
            self.lab.stop()
            self.lab = None


_SHARED = _Shared()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After a browser test's fixtures are gone, end Chromium and Lab if the next test is not
    a browser test."""
    yield
    if "browser" not in getattr(nextitem, "fixturenames", ()):
        _SHARED.close_browser()
        _SHARED.close_lab()


@pytest.fixture
def browser() -> Any:
    """Headless Debian Chromium, shared with the browser tests run next in this process."""
    require_chromium()
    return _SHARED.browser()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A new page in a fresh browser context; closed after the test."""
    art = _artifacts(request, tmp_path)
    context = browser.new_context(viewport=VIEWPORT)

    def block(route: Any) -> None:
        art.console.append(f"[blocked] {route.request.url}")
        route.abort()

    # Hermetic: Voila's template links Font Awesome from a CDN; nothing may leave loopback.
    context.route(NOT_LOOPBACK, block)
    new_page = context.new_page()
    new_page.set_default_timeout(30_000)
    new_page.on("console", lambda msg: art.console.append(f"[{msg.type}] {msg.text}"))
    new_page.on("pageerror", lambda exc: art.console.append(f"[pageerror] {exc}"))
    new_page.on(
        "requestfailed",
        lambda req: art.console.append(f"[requestfailed] {req.url} {req.failure}"),
    )
    art.page = new_page
    try:
        yield new_page
    finally:
        art.page = None
        with contextlib.suppress(Exception):
            context.close()


ServerFactory = Callable[..., ServerProcess]
#: ``make(path, env, n)``: this test's ``n``-th server (or view) for ``path``.
ServerMaker = Callable[[Path, Mapping[str, str] | None, int], ServerProcess]


def _servers(
    request: pytest.FixtureRequest, tmp_path: Path, make: ServerMaker
) -> Iterator[ServerFactory]:
    """A factory fixture's body: ``start(path, env=None)`` servers recorded for the failure
    report, each stopped after the test."""
    art = _artifacts(request, tmp_path)

    def start(path: Path, env: Mapping[str, str] | None = None) -> ServerProcess:
        server = make(path, env, len(art.servers))
        art.servers.append(server)
        return server

    yield start
    for server in art.servers:
        server.stop()


def _shared_lab(tmp_path_factory: pytest.TempPathFactory) -> SharedLab:
    if _SHARED.lab is None:
        base = tmp_path_factory.getbasetemp()
        _SHARED.lab = SharedLab(base, tmp_path_factory.mktemp("shared-lab"))
    return _SHARED.lab


@pytest.fixture
def start_lab(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    """Factory: ``start_lab(root_dir, env=None)``, this test's view of the shared JupyterLab
    server (Lab at ``/lab/tree``, Notebook 7 at ``/notebooks``) for the notebooks in
    ``root_dir``, whose kernels get ``env``."""
    yield from _servers(
        request, tmp_path, lambda root, env, _: _shared_lab(tmp_path_factory).view(root, env)
    )


@pytest.fixture
def start_voila(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    """Factory: ``start_voila(notebook, env=None)``, ``notebook`` as a Voila app on the shared
    Lab server (``/voila/render/...``, Voila's server extension), its kernels given ``env``."""
    yield from _servers(
        request, tmp_path, lambda nb, env, _: _shared_lab(tmp_path_factory).voila(nb, env)
    )


@pytest.fixture
def start_voila_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerFactory]:
    """Factory: ``start_voila_server(notebook, env=None)`` serves ``notebook`` as a Voila app
    from a ``voila`` server of its own."""
    yield from _servers(
        request, tmp_path, lambda nb, env, n: _start_voila(nb, tmp_path / f"voila{n}", env)
    )


@pytest.fixture
def start_marimo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerFactory]:
    """Factory: ``start_marimo(notebook_py, env=None)`` serves a marimo notebook as an app."""
    yield from _servers(
        request, tmp_path, lambda nb, env, n: _start_marimo(nb, tmp_path / f"marimo{n}", env)
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Screenshot every browser test right after its body; on failure add console and logs."""
    report = yield
    art = item.stash.get(_ARTIFACTS, None)
    if art is None or report.when not in ("setup", "call"):
        return report
    if report.when == "call" and art.page is not None:
        try:
            path = screenshot(art.page, art.tmp_path / "screenshot.png")
            report.sections.append(("browser screenshot", str(path)))
        except Exception as exc:  # a crashed page must not hide the real failure
            report.sections.append(("browser screenshot", f"failed: {exc!r}"))
    if report.failed:
        if art.console:
            report.sections.append(("browser console", "\n".join(art.console[-200:])))
        for server in art.servers:
            report.sections.append((f"{server.name} log ({server.log_path})", server.log_text()))
    return report
