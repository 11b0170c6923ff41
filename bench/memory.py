"""Benchmark 5: kernel memory across many panel generations, in a real IPython kernel.

An ipykernel is started with jupyter_client (its event loop runs as in Jupyter), the
panel is created and displayed, and Generate is clicked again and again, each click's
task awaited in a top-level ``await`` cell, exactly as a user's clicks would run. Every
IOPub message (widget updates carry each image) is read, as a front end would. RSS comes
from ``/proc/self/statm`` inside the kernel, after ``gc.collect()``.

The emulator runs in another process with a short inference time: only memory matters.

Example:
    >>> section = run(PRESETS["quick"], emulator, gallery)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from bench._clients import API_KEY
from bench._config import PROMPT, SIZE, Config
from bench._emulator import EmulatorProcess
from bench._report import Section, ratio

TARGET_MB = 50.0  # growth across 200 generations at most 50 MB (issue 8)
MARK = "BENCH "

_SETUP = """
import gc, json, os, sys
def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
def _bench(**figures):
    gc.collect()
    print("BENCH " + json.dumps({"rss": _rss_mb(), **figures}), flush=True)
_bench(stage="kernel")
import klein_widget
from klein_widget.widget._widget import KleinPanel
_bench(stage="imported")
panel = KleinPanel(prompt=$PROMPT, width=$SIZE, height=$SIZE)
display(panel)
_bench(stage="panel")
"""

_CLICK = """
async def _click():
    from klein_widget.widget._messages import handle_message
    handle_message(panel, {"type": "generate"})  # what the page's Generate button sends
    (task,) = panel.tasks
    generation = await task
    assert generation is not None, panel.status
"""

_WARM = """
await _click()
_bench(stage="baseline")
"""

_LOOP = """
_series = []
for _i in range($COUNT):
    await _click()
    if (_i + 1) % $STEP == 0:
        gc.collect()
        _series.append([_i + 1, _rss_mb()])
_history = klein_widget.session().history
_bench(
    stage="after",
    series=_series,
    history_images=len(_history),
    history_mb=sum(len(g.image) for g in _history) / 2**20,
    strip_entries=len(panel.history),
    strip_full=sum(e.generation is not None for e in panel.history),
    image_kb=sum(len(g.image) for g in _history) / max(1, len(_history)) / 1024,
)
panel.close()
"""


def _fill(code: str, **values: str) -> str:
    """Put ``values`` into the ``$NAME`` slots of a cell (its own braces stay as they are)."""
    for name, value in values.items():
        code = code.replace(f"${name}", value)
    return code


class _Kernel:
    """One ipykernel and a client that reads everything it publishes."""

    def __init__(self, env: dict[str, str]) -> None:
        # Unix sockets where there are any: over TCP another process can take a port between
        # jupyter_client choosing it and the kernel binding it (the test suite runs this
        # bench beside other kernels). A short folder of its own: socket paths are limited
        # to ~107 bytes, and jupyter_client numbers sockets by the files already there.
        self._sockets = tempfile.mkdtemp(prefix="kernel-", dir="/tmp") if os.name == "posix" else ""
        ipc = {"transport": "ipc", "ip": f"{self._sockets}/ipc"} if self._sockets else {}
        self.manager = KernelManager(kernel_name="python3", **ipc)
        self.manager.start_kernel(env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.figures: list[dict[str, Any]] = []

    def _hook(self, msg: dict[str, Any]) -> None:
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "stream":
            for line in content["text"].splitlines():
                if line.startswith(MARK):
                    self.figures.append(json.loads(line[len(MARK) :]))
        elif kind == "error":
            print("\n".join(content["traceback"]), file=sys.stderr)

    def run(self, code: str, timeout: float = 600) -> None:
        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=self._hook)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel cell failed: {reply['content'].get('ename')}")

    def stage(self, name: str) -> dict[str, Any]:
        return next(f for f in self.figures if f["stage"] == name)

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)
        if self._sockets:
            shutil.rmtree(self._sockets, ignore_errors=True)


def run(config: Config, emulator: EmulatorProcess, gallery: Path) -> Section:
    """Generate ``memory_generations`` images from a panel in a kernel; report RSS growth."""
    count = config.memory_generations
    # The run's emulator, reset: it is another process, so its state weighs nothing here.
    emulator.reset()
    emulator.configure(
        inference_time=config.memory_inference_time,
        concurrency=None,
        rate_limit=None,
        network_delay=0.0,
    )
    with tempfile.TemporaryDirectory(prefix="klein-bench-kernel-") as scratch:
        env = {
            **os.environ,
            "WAVESPEED_API_KEY": API_KEY,
            "WAVESPEED_BASE_URL": emulator.base_url,
            "KLEIN_GALLERY": str(gallery / "kernel"),
            "JUPYTER_RUNTIME_DIR": scratch,
            "IPYTHONDIR": str(Path(scratch) / "ipython"),
        }
        print("  memory: starting a kernel", file=sys.stderr)
        kernel = _Kernel(env)
        try:
            kernel.run(_fill(_SETUP, PROMPT=repr(PROMPT), SIZE=str(SIZE)))
            kernel.run(_CLICK)
            kernel.run(_WARM)
            print(f"  memory: {count} panel generations", file=sys.stderr)
            step = max(1, count // 8)
            kernel.run(_fill(_LOOP, COUNT=str(count), STEP=str(step)))
        finally:
            kernel.close()
    return _section(config, kernel)


def _section(config: Config, kernel: _Kernel) -> Section:
    count = config.memory_generations
    start, imported = kernel.stage("kernel")["rss"], kernel.stage("imported")["rss"]
    panel, baseline = kernel.stage("panel")["rss"], kernel.stage("baseline")["rss"]
    after = kernel.stage("after")
    growth = after["rss"] - baseline
    section = Section(
        "memory",
        f"5. Kernel memory across {count} panel generations at {SIZE}x{SIZE}",
        f"the kernel's RSS after the panel's first image, {baseline:.1f} MB "
        f"(fresh kernel {start:.1f} MB)",
        ["RSS", "growth", "growth ratio"],
    )

    def add(label: str, rss: float) -> None:
        section.add(
            label,
            {
                "RSS": f"{rss:.1f} MB",
                "growth": f"{rss - baseline:+.1f} MB",
                "growth ratio": ratio((rss - baseline) / baseline),
            },
            values={"rss_mb": rss, "growth_mb": rss - baseline},
        )

    add("after import klein_widget", imported)
    add("after creating the panel", panel)
    add("after 1st image (baseline)", baseline)
    row_label = f"after {count} more images"
    section.add(
        row_label,
        {
            "RSS": f"{after['rss']:.1f} MB",
            "growth": f"{growth:+.1f} MB",
            "growth ratio": ratio(growth / baseline),
        },
        ratio=growth,
        target=TARGET_MB,
        target_text=f"<= {TARGET_MB:.0f} MB growth",
        values={"rss_mb": after["rss"], "growth_mb": growth},
    )
    series = after["series"]
    if len(series) >= 2:
        (n0, r0), (n1, r1) = series[len(series) // 2], series[-1]
        slope = (r1 - r0) / (n1 - n0) * 1024 if n1 > n0 else 0.0
        section.notes.append(
            f"Growth per image over the second half ({n0}->{n1}): {slope:+.1f} KB; "
            "RSS every " + f"{series[0][0]} images: " + ", ".join(f"{r:.0f}" for _, r in series)
        )
    section.notes += [
        f"Held at the end: session().history {after['history_images']} full images "
        f"({after['history_mb']:.1f} MB), the panel's strip {after['strip_entries']} "
        f"thumbnails and {after['strip_full']} full images. Images are photo-weight PNGs "
        f"({after['image_kb']:.0f} KB each), as FLUX.2 output at this size is.",
        f"Emulator inference time {config.memory_inference_time:g} s for this one (the "
        "memory is what is measured).",
    ]
    return section
