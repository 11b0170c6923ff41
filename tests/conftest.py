"""Shared fixtures: every test talks to the package's own emulator, never the network.

- `emulator_app`: an in-process emulator (Starlette app) with a tiny inference time.
- `client` / `async_client`: real clients wired to that app through httpx transports.
- `live_emulator`: the emulator served over loopback by uvicorn (module scope).
- autouse `isolated`: no key or base URL leaks in from the environment, the gallery
  writes into a temporary folder, and the shared session starts fresh.
- `pytest_configure`: the user's home is left alone; IPython's and Jupyter's state for the
  whole session goes to one temporary folder (`tests/test_home.py` proves it).
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings
from starlette.applications import Starlette
from starlette.testclient import TestClient

import klein_widget._session as session_module
from klein_widget import AsyncKleinClient, KleinClient, PollSchedule, RetryPolicy
from klein_widget.emulator import Emulator, RunningEmulator, create_app, start
from tests.selection import SLOW, SLOW_FIXTURES, WHOLLY_SLOW, rank
from tests.stopping import join_stopped, stop_later, stopped_later

# jsonschema (which nbformat imports, and notebook and browser helpers import nbformat at
# their top) imports rfc3987_syntax when it is installed, and that module builds its Lark
# grammars at import: ~1.3 CPU-s in every pytest process, i.e. in every xdist worker, for
# the "iri" and "iri-reference" format checks, which nothing here asks for (nbformat's
# schemas use no "format"). jsonschema treats the module as optional (an ImportError
# leaves those two formats unchecked), so the test processes go without it. Subprocesses
# (kernels, Jupyter servers, `klein`) are untouched.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

# A key distinctive enough to search for in every output (key-hygiene tests).
FAKE_KEY = "wsk-test-3f9c1a7e5d2b4c6e8a0f"
TEST_URL = "http://testserver"
FAST_POLL = PollSchedule(fast=0.005, cap=0.05)
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.01)

# Where IPython, Jupyter and matplotlib would otherwise write under ~: a real InteractiveShell
# records every test command in ~/.ipython/profile_default/history.sqlite, and each kernel
# (nbclient, CLI subprocesses) writes its connection file under ~/.local/share/jupyter/runtime.
# It also keeps a user's own ipython_config.py or kernelspecs from changing what tests see.
# MPLCONFIGDIR matters only where matplotlib is installed (ipykernel's inline backend loads it).
# Browser tests' servers and Chromium get their own folders in tests/browser/harness.py.
HOME_STATE_VARS = (
    "IPYTHONDIR",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "JUPYTERLAB_SETTINGS_DIR",
    "JUPYTERLAB_WORKSPACES_DIR",
    "MPLCONFIGDIR",
)
_HOME_STATE = pytest.StashKey[tuple[Path, dict[str, str | None]]]()


# Hypothesis' per-example deadline (200 ms) measures the machine, not the code: with the
# suite in 4 processes on 2 cores an example may wait its turn. Tests that set their own
# deadline keep it.
settings.register_profile("klein", deadline=None)
settings.load_profile("klein")


def fast_options(**overrides: Any) -> dict[str, Any]:
    """Client options for tests: quick polls and retries, set through configuration."""
    return {"poll": FAST_POLL, "retry": FAST_RETRY, **overrides}


def pytest_configure(config: pytest.Config) -> None:
    """Point IPython's and Jupyter's state at a temporary folder for the whole session.

    Runs before any test module is collected, so before anything creates an IPython shell or
    starts a kernel; subprocesses inherit the variables.
    """
    state = Path(tempfile.mkdtemp(prefix="klein-tests-state-"))
    saved = {name: os.environ.get(name) for name in HOME_STATE_VARS}
    for name in HOME_STATE_VARS:
        folder = state / name.lower()
        folder.mkdir()
        os.environ[name] = str(folder)
    config.stash[_HOME_STATE] = (state, saved)
    # Removed at exit, not in pytest_unconfigure: a shell writes its last history in its own
    # atexit hook, registered later and so run earlier than this one.
    atexit.register(shutil.rmtree, state, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Wait for the fixtures' servers still stopping (`tests.stopping`)."""
    left = join_stopped()
    if left:
        session.config.issue_config_time_warning(
            pytest.PytestWarning(f"servers still running at the end: {left}"), stacklevel=2
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Restore the variables (the folder itself goes at exit)."""
    if _HOME_STATE not in config.stash:
        return
    _, saved = config.stash[_HOME_STATE]
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Clean environment and a fresh shared session for every test."""
    for name in ("WAVESPEED_API_KEY", "WAVESPEED_BASE_URL", "KLEIN_EMULATOR_INFERENCE_TIME"):
        # setenv first so monkeypatch restores the original even if code under test
        # (use_emulator, set_api_key) writes os.environ directly.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    gallery = tmp_path / "klein-outputs"
    monkeypatch.setenv("KLEIN_GALLERY", str(gallery))
    fresh = session_module.Session()
    monkeypatch.setattr(session_module, "_SESSION", fresh)
    yield gallery
    if fresh.emulator is not None:
        stop_later(fresh.emulator)


@pytest.fixture
def api_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A distinctive fake key, set in the environment."""
    monkeypatch.setenv("WAVESPEED_API_KEY", FAKE_KEY)
    return FAKE_KEY


@pytest.fixture
def emulator_app() -> Starlette:
    """An in-process emulator that finishes images in 20 ms."""
    return create_app(inference_time=0.02)


@pytest.fixture
def emulator(emulator_app: Starlette) -> Emulator:
    """The in-process emulator's live state: request log, knobs, fault scripts."""
    state: Emulator = emulator_app.state.emulator
    return state


@pytest.fixture
def client(emulator_app: Starlette) -> Iterator[KleinClient]:
    """A blocking client talking to the in-process emulator through Starlette's TestClient."""
    with (
        TestClient(emulator_app, base_url=TEST_URL) as http,
        KleinClient(FAKE_KEY, TEST_URL, http_client=http, **fast_options()) as klein,
    ):
        yield klein


@pytest.fixture
async def async_client(emulator_app: Starlette) -> AsyncIterator[AsyncKleinClient]:
    """An async client talking to the in-process emulator through httpx.ASGITransport."""
    transport = httpx.ASGITransport(app=emulator_app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=TEST_URL) as http,
        AsyncKleinClient(FAKE_KEY, TEST_URL, http_client=http, **fast_options()) as klein,
    ):
        yield klein


@pytest.fixture(scope="module")
def live_emulator() -> Iterator[RunningEmulator]:
    """The emulator over loopback (uvicorn in a thread), shared by a test module."""
    with stopped_later(start(port=0, inference_time=0.05)) as running:
        yield running


@pytest.fixture
def live_env(live_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point `$WAVESPEED_BASE_URL` and `$WAVESPEED_API_KEY` at the loopback emulator."""
    monkeypatch.setenv("WAVESPEED_BASE_URL", live_emulator.base_url)
    monkeypatch.setenv("WAVESPEED_API_KEY", FAKE_KEY)
    return live_emulator.base_url


@pytest.fixture
def sdk_config() -> Iterator[Callable[..., None]]:
    """Set the official SDK's ``wavespeed.config.api`` values for one test, restored after.

    Not `monkeypatch.setattr`: the SDK's config proxy loses a key on its undo (the key is
    deleted, not put back), which breaks every later SDK test in the worker."""
    import wavespeed

    api = wavespeed.config.api
    saved: dict[str, Any] = {}

    def put(**values: Any) -> None:
        for name, value in values.items():
            saved.setdefault(name, getattr(api, name))
            setattr(api, name, value)

    yield put
    for name, value in saved.items():
        setattr(api, name, value)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under ``-m "not slow"`` (the quick loop) a file or folder whose every test is slow by
    `SLOW` is not even imported: its tests would all be deselected, and importing them costs
    each xdist worker seconds (browsers' and notebooks' imports: nbformat, jsonschema, ...)."""
    if " ".join(str(config.getoption("markexpr", "")).split()) != "not slow":
        return None
    if not collection_path.is_relative_to(config.rootpath):
        return None
    relative = collection_path.relative_to(config.rootpath).as_posix()
    whole = relative + "/" if collection_path.is_dir() else relative
    return True if whole in WHOLLY_SLOW else None


@pytest.hookimpl(tryfirst=True)  # before pytest's -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark slow tests and order the run: under xdist the longest first; in one process the
    browser tests last, so quick failures show first."""
    for item in items:
        slow_kind = any(item.get_closest_marker(kind) for kind in ("browser", "packaging"))
        slow_kind |= any(name in getattr(item, "fixturenames", ()) for name in SLOW_FIXTURES)
        if slow_kind or item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
    if hasattr(config, "workerinput"):  # an xdist worker: all workers sort alike
        items.sort(key=rank)
    else:
        items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def run_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A folder that ``make`` fills once per test run and every xdist worker then reads.

    A costly result (a build, a bench run, a lesson's kernel run) is made by the first worker
    that needs it, under a file lock; the others wait and reuse it. In one process it is the
    session's own temporary folder. A failing ``make`` leaves nothing, so the next one retries.
    """
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder
    folder = root / f"once-{name}"
    with open(root / f"once-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (folder / ".done").exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                make(folder)
                (folder / ".done").touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def pytest_report_header() -> str:
    return f"klein-widget tests: emulator only, no network (cwd {os.getcwd()})"
