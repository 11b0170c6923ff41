"""Browser-test harness: JupyterLab / Voila servers, Chromium, and widget helpers.

Everything here drives real things: a JupyterLab or Voila server in a subprocess on a free
loopback port (all Jupyter dirs in a temporary folder, kernels on ``sys.executable``), Debian's
Chromium through Playwright's sync API, and the kernel itself through a second Jupyter client
(:class:`KernelProbe`) to learn when the kernel has received a value typed in the browser.
Nothing is written under the user's home: servers, kernels, npm and Chromium all get temporary
folders (``tests/test_home.py`` checks it).

Example (the fixtures in ``conftest.py`` wrap the server and browser parts)::

    cells = ["import ipywidgets as w", "w.Button(description='Go')"]
    nb = write_notebook(tmp_path / "nb" / "demo.ipynb", cells)
    server = start_lab(nb.parent, tmp_path / "lab", env={"WAVESPEED_BASE_URL": url})
    open_notebook(page, server, "demo.ipynb")
    run_all_cells(page)
    click_button(page, "Go")
    server.stop()
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nbformat
import pytest

from tests.kernels import SERVER_ARGUMENTS, short_folder

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Status-bar text once the notebook's kernel exists and is idle (not just the initial "Idle").
LAB_KERNEL_IDLE = "(ipykernel) | Idle"
KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"
VIEWPORT = {"width": 1280, "height": 1000}
#: ``polling=`` for ``page.wait_for_function``: its default polls on every animation frame
#: (60 times a second), which keeps Chromium's renderer busy for the whole wait.
POLL_MS = 100

T = TypeVar("T")


# --------------------------------------------------------------------------- small utilities


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now.

    Example: ``port = free_port()``
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    probe: Callable[[], T],
    accept: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Call ``probe`` until ``accept(result)`` holds; return that result, or fail clearly.

    The failure message shows the last value seen, which is what one needs to debug a UI test.

    Example: ``wait_until(lambda: image_size(img), lambda s: s[0] == 768, what="image width")``
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    error: BaseException | None = None
    while True:
        try:
            last = probe()
            error = None
            if accept(last):
                return last
        except Exception as exc:  # a page may be mid-render: retry until the deadline
            error = exc
        if time.monotonic() > deadline:
            detail = f"error: {error!r}" if error is not None else f"last value: {last!r}"
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} ({detail})")
        time.sleep(interval)


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """Write a notebook of code cells (python3 kernelspec) and return its path.

    Example: ``write_notebook(tmp_path / "nb" / "demo.ipynb", ["1 + 1"])``
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": KERNEL_DISPLAY_NAME,
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


# --------------------------------------------------------------------------- Jupyter environment


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def write_kernelspec(data_dir: Path, name: str, env: Mapping[str, str] | None = None) -> Path:
    """Write kernelspec ``name`` (ipykernel on ``sys.executable``) under ``data_dir/kernels``.

    ``env`` is added to the environment of each kernel started from it. Its display name is
    always :data:`KERNEL_DISPLAY_NAME`, so Lab shows what a user sees.

    Example: ``write_kernelspec(data_dir, "t-1a2b", {"WAVESPEED_BASE_URL": url})``
    """
    spec: dict[str, Any] = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": KERNEL_DISPLAY_NAME,
        "language": "python",
        "metadata": {"debugger": True},
    }
    if env:
        spec["env"] = dict(env)
    folder = data_dir / "kernels" / name
    _write_json(folder / "kernel.json", spec)
    return folder


def write_lab_settings(settings_dir: Path) -> None:
    """Write the Lab settings every test starts from, removing any other (a theme a test set).

    Example: ``write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]))``
    """
    shutil.rmtree(settings_dir, ignore_errors=True)
    settings = settings_dir / "@jupyterlab"
    _write_json(
        settings / "apputils-extension" / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    # Autosave would rewrite the test's notebook; windowing would detach off-screen cells.
    _write_json(
        settings / "docmanager-extension" / "plugin.jupyterlab-settings", {"autosave": False}
    )
    _write_json(
        settings / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none"}
    )


def jupyter_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for a Jupyter server whose config/data/runtime/settings live under ``home``.

    Installs a ``python3`` kernelspec running ``sys.executable`` (the venv's Python, wherever the
    venv is), Lab settings that stop the news pop-up, autosave and cell virtualisation, and a
    page config that stops Lab's rebuild check.
    ``extra`` (e.g. ``WAVESPEED_BASE_URL``) reaches the server and so every kernel it starts.

    Example: ``env = jupyter_env(tmp_path / "jupyter", {"WAVESPEED_API_KEY": "test"})``
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "config",
        "JUPYTER_DATA_DIR": home / "data",
        "JUPYTER_RUNTIME_DIR": home / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": home / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": home / "lab-workspaces",
        "IPYTHONDIR": home / "ipython",
    }
    # jupyter-lsp runs `npm prefix -g` as Lab starts, and npm keeps a debug log in its cache
    # folder (~/.npm/_logs by default).
    dirs["npm_config_cache"] = home / "npm"
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    # The user data dir comes first on the kernel search path, so this spec wins over any other.
    write_kernelspec(dirs["JUPYTER_DATA_DIR"], "python3")
    write_lab_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    # Each Lab page load asks the server whether the app needs a rebuild, which runs node and
    # reads every extension's package.json: a test's Lab never does.
    _write_json(
        dirs["JUPYTER_CONFIG_DIR"] / "labconfig" / "page_config.json", {"buildCheck": False}
    )
    env = dict(os.environ)
    for name in ("JUPYTER_TOKEN", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
        env.pop(name, None)
    env.update({k: str(v) for k, v in dirs.items()})
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences the debugger's frozen-modules warning
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------- server processes


@dataclass
class ServerProcess:
    """A server subprocess in its own process group, with its log file.

    ``url`` is where to point the browser (Lab: the server root; Voila: the app page).
    ``stop()`` ends the whole group, then any kernel it left behind (by pid, found through
    this server's private runtime dir).

    Example::

        server = start_lab(folder, tmp_path / "lab")
        try:
            httpx.get(server.url + "/api/status")
        finally:
            server.stop()
    """

    name: str
    url: str
    log_path: Path
    proc: subprocess.Popen[bytes]
    runtime_dir: Path | None = None
    #: Where this test's files are below the server's root (``""``, or ``"folder/"``).
    prefix: str = ""
    _probes: list[KernelProbe] = field(default_factory=list)

    def page_url(self, route: str, name: str) -> str:
        """URL of file ``name`` of this test under ``route`` (``lab/tree``, ``notebooks``).

        Example: ``page.goto(server.page_url("lab/tree", "demo.ipynb") + "?reset")``
        """
        return f"{self.url}/{route}/{self.prefix}{name}"

    def log_text(self, max_lines: int = 400) -> str:
        """The last ``max_lines`` lines of the server's log."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(lines[-max_lines:])

    def kernel_connection_files(self) -> list[Path]:
        """Connection files of this server's kernels, newest first."""
        if self.runtime_dir is None:
            return []
        # Lab writes them in the runtime dir, Voila in a voila_* folder inside it.
        files = list(self.runtime_dir.rglob("kernel-*.json"))
        return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)

    def kernel(self, timeout: float = 60.0) -> KernelProbe:
        """A :class:`KernelProbe` on this server's newest kernel (waits for one to exist).

        Example: ``server.kernel().wait_for("slider.value", 768)``
        """
        files = wait_until(
            self.kernel_connection_files, bool, timeout=timeout, what=f"a {self.name} kernel"
        )
        probe = KernelProbe(files[0])
        self._probes.append(probe)
        return probe

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server and its kernels at once (SIGKILL): a test's server has nothing
        to keep, and a graceful stop (SIGTERM) waited seconds for each kernel to shut down."""
        for probe in self._probes:
            probe.close()
        self._probes.clear()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # first, so it starts no more kernels
        # Kernels run in their own sessions, so the group kill does not reach them.
        if self.runtime_dir is not None:
            _kill_processes_mentioning(str(self.runtime_dir))
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)


def _kill_processes_mentioning(marker: str) -> None:
    """SIGKILL processes whose command line contains ``marker`` (a private temp path)."""
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit() or int(proc_dir.name) == os.getpid():
            continue
        try:
            cmdline = (proc_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc_dir.name), signal.SIGKILL)


def start_server(
    name: str,
    cmd: Sequence[str],
    *,
    url: str,
    ready_url: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    runtime_dir: Path | None = None,
    timeout: float = 60.0,
) -> ServerProcess:
    """Start ``cmd`` in a new process group, logging to ``log_path``; wait until ``ready_url``
    answers 200. Usable for any loopback server (e.g. the WaveSpeed emulator).

    Example::

        port = free_port()
        emu = start_server("emulator", [sys.executable, "-m", "klein_widget", "emulator",
                           "--port", str(port)], url=f"http://127.0.0.1:{port}",
                           ready_url=f"http://127.0.0.1:{port}/", log_path=tmp_path / "emu.log")
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # own process group: stop() kills it all, nothing orphaned
        )
    server = ServerProcess(name, url, log_path, proc, runtime_dir)
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0, trust_env=False) as client:
        while True:
            if proc.poll() is not None:
                server.stop()
                pytest.fail(
                    f"{name} exited with code {proc.returncode} before it was ready;"
                    f" log ({log_path}):\n{server.log_text(80)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if client.get(ready_url).status_code == 200:
                    return server
            if time.monotonic() > deadline:
                server.stop()
                pytest.fail(
                    f"{name} not ready after {timeout:.0f} s at {ready_url};"
                    f" log ({log_path}):\n{server.log_text(80)}"
                )
            time.sleep(0.2)


def start_lab(
    root_dir: Path,
    work_dir: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    *,
    notebook7: bool = False,
) -> ServerProcess:
    """Start JupyterLab serving ``root_dir`` (no token, no xsrf, news off) on a free port.

    ``work_dir`` receives ``lab.log``; the Jupyter dirs are in a short folder of /tmp, as the
    kernels' Unix sockets (tests/kernels.py) need. ``env`` is added to the environment of the
    server and its kernels.

    With ``notebook7``, the server is Notebook 7's (``/notebooks/NAME.ipynb``).

    Example: ``server = start_lab(nb_dir, tmp_path / "lab", {"WAVESPEED_BASE_URL": emu_url})``
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = jupyter_env(short_folder(), env)  # kernels' sockets need a short path
    cmd = [
        sys.executable,
        "-m",
        "notebook" if notebook7 else "jupyterlab",
        *SERVER_ARGUMENTS,
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        "--LabApp.news_url=None",
        # window.jupyterapp lets run_all_cells() call Lab commands instead of hunting menus;
        # a Lab server also serves Notebook 7's pages (/notebooks/NAME.ipynb).
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ]
    return start_server(
        "notebook7" if notebook7 else "jupyterlab",
        cmd,
        url=url,
        ready_url=f"{url}/api/status",
        log_path=work_dir / "lab.log",
        env=full_env,
        cwd=root_dir,
        runtime_dir=Path(full_env["JUPYTER_RUNTIME_DIR"]),
        timeout=timeout,
    )


def start_voila(
    notebook: Path, work_dir: Path, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> ServerProcess:
    """Start Voila serving ``notebook`` as an app on a free port; ``server.url`` is the app page.

    Readiness is checked on ``/voila/static/voila.js`` because each request to ``/`` starts and
    runs a kernel.

    Example: ``server = start_voila(nb, tmp_path / "voila", {"WAVESPEED_BASE_URL": emu_url})``
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full_env = jupyter_env(short_folder(), env)  # kernels' sockets need a short path
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        *SERVER_ARGUMENTS,
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        f"--Voila.connection_dir_root={full_env['JUPYTER_RUNTIME_DIR']}",
        "--VoilaConfiguration.show_tracebacks=True",
    ]
    return start_server(
        "voila",
        cmd,
        url=f"{url}/",
        ready_url=f"{url}/voila/static/voila.js",
        log_path=work_dir / "voila.log",
        env=full_env,
        cwd=notebook.parent,
        runtime_dir=Path(full_env["JUPYTER_RUNTIME_DIR"]),
        timeout=timeout,
    )


def start_marimo(
    notebook: Path, work_dir: Path, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> ServerProcess:
    """Serve a marimo notebook (a ``.py`` file) as an app on a free port, no token.

    Its config, cache and state folders (marimo writes under ``~``) are in ``work_dir``.

    Example: ``server = start_marimo(tmp_path / "nb.py", tmp_path / "marimo", env)``
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = work_dir / "home"
    full_env = dict(os.environ)
    for name in ("config", "cache", "state", "data"):
        (home / name).mkdir(parents=True, exist_ok=True)
        full_env[f"XDG_{name.upper()}_HOME"] = str(home / name)
    full_env["HOME"] = str(home)
    full_env["PYTHONUNBUFFERED"] = "1"
    full_env.update(env or {})
    cmd = [
        sys.executable,
        "-m",
        "marimo",
        "run",
        str(notebook),
        "--headless",
        "--no-token",
        "--host=127.0.0.1",
        f"--port={port}",
    ]
    return start_server(
        "marimo",
        cmd,
        url=f"{url}/",
        ready_url=f"{url}/health",
        log_path=work_dir / "marimo.log",
        env=full_env,
        cwd=notebook.parent,
        timeout=timeout,
    )


# --------------------------------------------------------------------------- kernel probe


class KernelProbe:
    """A second Jupyter client on a server's kernel, to read values in the kernel.

    Why: the widget front end throttles value updates but sends clicks at once, so a click right
    after typing can reach the kernel before the text. Waiting until the kernel *itself* reports
    the typed value removes the race without sleeps or extra widgets in the notebook. Requests
    are ``silent`` user expressions, so they add nothing to history or outputs.

    Example::

        kernel = server.kernel()
        kernel.wait_for("prompt.value", "a red fox")
        assert kernel.eval("slider.value") == 768
    """

    def __init__(self, connection_file: Path) -> None:
        self.connection_file = connection_file
        # Playwright's sync API marks its asyncio loop as running between calls, which confuses
        # jupyter_client's sync wrappers; a thread of our own has no loop.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kernel-probe")
        self._client: Any = self._thread.submit(self._connect).result()

    def _connect(self) -> Any:
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.connection_file))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        return client

    def eval(self, expression: str, timeout: float = 30.0) -> Any:
        """Evaluate ``expression`` in the kernel's namespace and return it (JSON round trip)."""
        return self._thread.submit(self._eval, expression, timeout).result()

    def _eval(self, expression: str, timeout: float) -> Any:
        wrapped = f"__import__('json').dumps({expression})"
        msg_id = self._client.execute(
            "", silent=True, store_history=False, user_expressions={"v": wrapped}
        )
        deadline = time.monotonic() + timeout
        while True:
            reply = self._client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        result = reply["content"]["user_expressions"]["v"]
        if result["status"] != "ok":
            raise RuntimeError(
                f"kernel could not evaluate {expression!r}: {result['ename']}: {result['evalue']}"
            )
        return json.loads(ast.literal_eval(result["data"]["text/plain"]))

    def wait_for(self, expression: str, expected: Any, timeout: float = 30.0) -> Any:
        """Poll until ``expression`` equals ``expected`` in the kernel; fail with the last value."""
        return wait_until(
            lambda: self.eval(expression),
            lambda v: bool(v == expected),
            timeout=timeout,
            interval=0.05,
            what=f"kernel value {expression} == {expected!r}",
        )

    def close(self) -> None:
        """Close this client's channels (the kernel keeps running)."""
        with contextlib.suppress(Exception):
            self._thread.submit(self._client.stop_channels).result(timeout=10)
        self._thread.shutdown(wait=False)


# --------------------------------------------------------------------------- browser


def require_chromium() -> Path:
    """Return Debian's Chromium path, or fail the test saying how to install it."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: browser tests need Debian's Chromium."
            " Run `apt-get update && apt-get install -y chromium`"
            " (never `playwright install`: it downloads a browser).",
            pytrace=False,
        )
    return CHROMIUM


def launch_chromium(playwright: Any) -> Any:
    """Launch headless Debian Chromium through Playwright (``playwright`` is a sync Playwright).

    Example::

        with sync_playwright() as pw:
            browser = launch_chromium(pw)
    """
    # Playwright already gives each launch a fresh temporary profile (--user-data-dir; it refuses
    # that flag in ``args``). Chromium still writes outside it, under HOME and the XDG folders:
    # ~/.config/chromium/Crash Reports and ~/.cache/dconf. So it gets a home of its own, removed
    # when the browser goes away.
    home = Path(tempfile.mkdtemp(prefix="klein-chromium-home-"))
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
    )
    browser = playwright.chromium.launch(
        executable_path=str(require_chromium()), args=CHROMIUM_ARGS, headless=True, env=env
    )
    browser.on("disconnected", lambda _: shutil.rmtree(home, ignore_errors=True))
    return browser


# --------------------------------------------------------------------------- JupyterLab pages


def open_notebook(page: Any, server: ServerProcess, name: str, timeout: float = 90.0) -> None:
    """Open ``name`` in Lab (fresh workspace) and wait until its kernel exists and is idle.

    Example: ``open_notebook(page, server, "demo.ipynb")``
    """
    page.goto(server.page_url("lab/tree", name) + "?reset")
    wait_kernel_idle(page, timeout)


def wait_kernel_idle(page: Any, timeout: float = 90.0) -> None:
    """Wait for the Lab status bar to show ``(ipykernel) | Idle``.

    The execution indicator alone says idle before any kernel exists (Shift+Enter then runs
    nothing), so this waits for the kernel name too.
    """
    page.locator(".jp-StatusBar-TextItem", has_text=LAB_KERNEL_IDLE).first.wait_for(
        timeout=timeout * 1000
    )


def open_notebook7(page: Any, server: ServerProcess, name: str, timeout: float = 90.0) -> None:
    """Open ``name`` in Notebook 7 and wait until its kernel is idle."""
    page.goto(server.page_url("notebooks", name))
    page.wait_for_function(
        "() => window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel"
        "?.status === 'idle'",
        timeout=timeout * 1000,
        polling=POLL_MS,
    )


def run_all_cells(page: Any) -> None:
    """Run every cell of the current notebook (Lab command ``notebook:run-all-cells``)."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def run_cell(page: Any, index: int) -> None:
    """Select cell ``index`` (0-based) and press Shift+Enter, as a user would."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")


def wait_for_widget(scope: Any, selector: str = ".jupyter-widgets", timeout: float = 60.0) -> Any:
    """Wait until a widget matching ``selector`` is visible in ``scope``; return its locator."""
    locator = scope.locator(selector).first
    locator.wait_for(state="visible", timeout=timeout * 1000)
    return locator


# --------------------------------------------------------------------------- widget helpers


def fill_text(field: Any, text: str) -> None:
    """Replace the text of a ``.widget-text input`` or ``.widget-textarea textarea`` and blur it.

    Blurring fires ``change``, which sends the final value even if the widget has
    ``continuous_update=False``. Pair with :meth:`KernelProbe.wait_for` before clicking.
    """
    field.fill(text)
    field.blur()


def set_slider(scope: Any, value: int | float, *, nth: int = 0, max_presses: int = 400) -> None:
    """Move the ``nth`` ``.widget-hslider`` in ``scope`` to ``value`` with arrow keys.

    Reads ``aria-valuenow`` of the noUiSlider handle to know where it is; fails if ``value``
    is not reachable by whole steps.
    """
    handle = scope.locator(".widget-hslider .noUi-handle").nth(nth)
    handle.focus()

    def current() -> float:
        return float(handle.get_attribute("aria-valuenow"))

    for _ in range(max_presses):
        now = current()
        if abs(now - value) < 1e-9:
            return
        handle.press("ArrowRight" if now < value else "ArrowLeft")
        if current() == now:  # at a bound, or the step jumps over value
            break
    pytest.fail(f"slider stuck at {current()}, could not reach {value}")


def click_button(scope: Any, text: str) -> None:
    """Click the ``.widget-button`` whose text is exactly ``text``."""
    scope.locator(".widget-button", has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")).click()


def html_text(scope: Any, nth: int = 0) -> str:
    """Visible text of the ``nth`` ``.widget-html-content`` in ``scope``."""
    return str(scope.locator(".widget-html-content").nth(nth).inner_text())


def image_size(scope: Any, nth: int = 0) -> tuple[int, int]:
    """``(naturalWidth, naturalHeight)`` of the ``nth`` ``img.widget-image``; (0, 0) if empty.

    Its ``src`` is a ``blob:`` URL even when the widget holds no image, so the size is the
    reliable signal.
    """
    size = (
        scope.locator("img.widget-image")
        .nth(nth)
        .evaluate("img => [img.naturalWidth, img.naturalHeight]")
    )
    return int(size[0]), int(size[1])


def wait_image_size(
    scope: Any, width: int, height: int | None = None, *, nth: int = 0, timeout: float = 30.0
) -> tuple[int, int]:
    """Wait until the ``nth`` widget image has ``width`` (and ``height``) as natural size."""
    return wait_until(
        lambda: image_size(scope, nth),
        lambda s: s[0] == width and (height is None or s[1] == height),
        timeout=timeout,
        what=f"image of {width}x{height if height is not None else '?'}",
    )


def screenshot(page: Any, path: Path) -> Path:
    """Save a full-page screenshot to ``path`` and print where it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, timeout=15_000)
    print(f"screenshot: {path}")
    return path


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    """Print how long a block took (for reports, never asserted).

    Example: ``with timed("lab startup"): server = start_lab(...)``
    """
    start = time.perf_counter()
    yield
    print(f"{label}: {time.perf_counter() - start:.1f} s")
