"""One JupyterLab server per test process, shared by the Lab and Notebook 7 tests.

Starting Lab costs seconds of CPU, and what a test needs of it is its own: its folder, its
kernel's environment (its emulator's URL, its gallery) and a fresh page. So one Lab server
serves the process's whole temporary folder (every test's ``tmp_path`` is inside it), and
:meth:`SharedLab.view` gives each test a :class:`LabView`:

- its folder's URLs (``server.page_url("lab/tree", "x.ipynb")``, used by ``open_notebook``);
- a kernelspec of its own, whose ``env`` carries the test's variables, written into the
  server's data dir; the test's notebooks are switched to it, so their kernels get that env;
- its kernels only, found through the server's sessions under its folder (``view.kernel()``);
- on ``stop()``, its sessions and kernels shut down, its kernelspec removed and Lab's
  settings back as they started (a test may switch the theme to dark).

The same server serves Notebook 7's pages (``/notebooks/...``), and Voila apps through Voila's
server extension (:meth:`SharedLab.voila`, ``/voila/render/...``): both are Jupyter server
extensions, so no test starts a server of its own for them. If the server died, the next view
starts a new one.

Example::

    lab = SharedLab(tmp_path_factory.getbasetemp(), tmp_path_factory.mktemp("lab"))
    view = lab.view(tmp_path / "nb", {"WAVESPEED_BASE_URL": url})
    open_notebook(page, view, "demo.ipynb")
    view.stop()
    lab.stop()
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nbformat

from .harness import (
    KERNEL_DISPLAY_NAME,
    ServerProcess,
    start_lab,
    write_kernelspec,
    write_lab_settings,
)


@dataclass
class LabView(ServerProcess):
    """One test's share of a :class:`SharedLab`: its folder, its kernelspec, its kernels."""

    kernelspec_dir: Path | None = None
    settings_dir: Path | None = None

    def sessions(self) -> list[dict[str, Any]]:
        """The server's sessions (notebook + kernel) of files in this view's folder."""
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            answer = client.get(f"{self.url}/api/sessions")
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return [s for s in found if str(s.get("path", "")).startswith(self.prefix)]

    def kernel_connection_files(self) -> list[Path]:
        """Connection files of this view's kernels (not other tests' on the same server)."""
        if self.runtime_dir is None:
            return []
        ids = [s["kernel"]["id"] for s in self.sessions() if s.get("kernel")]
        files = [self.runtime_dir / f"kernel-{kernel_id}.json" for kernel_id in ids]
        return [f for f in files if f.exists()]

    def stop(self, timeout: float = 15.0) -> None:
        """End this test's sessions and kernels; the server keeps running for the next test."""
        for probe in self._probes:
            probe.close()
        self._probes.clear()
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.Client(timeout=timeout, trust_env=False) as client,
        ):
            for session in self.sessions():
                client.delete(f"{self.url}/api/sessions/{session['id']}")
        if self.kernelspec_dir is not None:
            for spec_file in self.kernelspec_dir.iterdir():
                spec_file.unlink()
            self.kernelspec_dir.rmdir()
        if self.settings_dir is not None:
            write_lab_settings(self.settings_dir)


@dataclass
class VoilaView(LabView):
    """One test's Voila app on a :class:`SharedLab` (``url`` is the app's page). Voila's
    kernels have no session: this view's are the kernels in no session that the server did
    not have when the view was made."""

    kernels_before: frozenset[str] = frozenset()

    def kernel_ids(self) -> list[str]:
        """Ids of this app's kernels (each page load starts one)."""
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            kernels = client.get(f"{self.url_root}/api/kernels")
            sessions = client.get(f"{self.url_root}/api/sessions")
        kernels.raise_for_status()
        sessions.raise_for_status()
        in_sessions = {s["kernel"]["id"] for s in sessions.json() if s.get("kernel")}
        ids = [k["id"] for k in kernels.json()]
        return [k for k in ids if k not in in_sessions and k not in self.kernels_before]

    @property
    def url_root(self) -> str:
        """The server's root URL (``url`` is the app's page)."""
        return self.url.split("/voila/render/", 1)[0]

    def kernel_connection_files(self) -> list[Path]:
        """Connection files of this app's kernels."""
        if self.runtime_dir is None:
            return []
        files = [self.runtime_dir / f"kernel-{k}.json" for k in self.kernel_ids()]
        return [f for f in files if f.exists()]

    def stop(self, timeout: float = 15.0) -> None:
        """Shut this app's kernels down, then what :meth:`LabView.stop` ends."""
        with (
            contextlib.suppress(httpx.HTTPError),
            httpx.Client(timeout=timeout, trust_env=False) as client,
        ):
            for kernel_id in self.kernel_ids():
                client.delete(f"{self.url_root}/api/kernels/{kernel_id}")
        super().stop(timeout)


class SharedLab:
    """A JupyterLab server serving ``root`` (started on first use), viewed by many tests."""

    def __init__(self, root: Path, work_dir: Path) -> None:
        self.root = root.resolve()
        self.work_dir = work_dir
        self.server: ServerProcess | None = None
        self.starts = 0

    def _running(self) -> ServerProcess:
        if self.server is None or self.server.proc.poll() is not None:
            if self.server is not None:
                self.server.stop()
            # Started inside a test, after the `isolated` fixture cleared the key and URL
            # from the environment; the gallery a kernel writes to comes from its kernelspec.
            env = {"KLEIN_GALLERY": str(self.work_dir / "gallery")}
            work = self.work_dir / f"lab{self.starts}"
            # As `start_voila`'s command line does: a failing cell's traceback on the page.
            config = work / "jupyter" / "config" / "jupyter_server_config.json"
            config.parent.mkdir(parents=True, exist_ok=True)
            config.write_text(json.dumps({"VoilaConfiguration": {"show_tracebacks": True}}))
            self.server = start_lab(self.root, work, env)
            self.starts += 1
        return self.server

    def view(self, folder: Path, env: Mapping[str, str] | None = None) -> LabView:
        """A view on this server for the notebooks in ``folder`` (inside the root).

        With ``env``, the notebooks in ``folder`` are switched to a new kernelspec that adds
        ``env`` to their kernels' environment.
        """
        server = self._running()
        relative = folder.resolve().relative_to(self.root)
        prefix = "" if relative == Path(".") else f"{relative.as_posix()}/"
        assert server.runtime_dir is not None
        jupyter = server.runtime_dir.parent
        spec_dir = None
        if env:
            name = f"klein-test-{uuid.uuid4().hex[:12]}"
            spec_dir = write_kernelspec(jupyter / "data", name, env)
            for path in folder.glob("*.ipynb"):
                notebook = nbformat.read(path, as_version=4)
                notebook.metadata["kernelspec"] = {
                    "name": name,
                    "display_name": KERNEL_DISPLAY_NAME,
                    "language": "python",
                }
                nbformat.write(notebook, path)
        return LabView(
            server.name,
            server.url,
            server.log_path,
            server.proc,
            server.runtime_dir,
            prefix=prefix,
            kernelspec_dir=spec_dir,
            settings_dir=jupyter / "lab-settings",
        )

    def voila(self, notebook: Path, env: Mapping[str, str] | None = None) -> VoilaView:
        """``notebook`` as a Voila app rendered by the server's Voila extension, its kernels
        started with ``env`` (as :meth:`view`)."""
        view = self.view(notebook.parent, env)
        with httpx.Client(timeout=10.0, trust_env=False) as client:
            answer = client.get(f"{view.url}/api/kernels")
        answer.raise_for_status()
        return VoilaView(
            "voila",
            f"{view.url}/voila/render/{view.prefix}{notebook.name}",
            view.log_path,
            view.proc,
            view.runtime_dir,
            prefix=view.prefix,
            kernelspec_dir=view.kernelspec_dir,
            settings_dir=view.settings_dir,
            kernels_before=frozenset(k["id"] for k in answer.json()),
        )

    def stop(self) -> None:
        """Stop the server and every kernel it started."""
        if self.server is not None:
            self.server.stop()
            self.server = None
