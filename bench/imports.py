"""Benchmark 4: ``import klein_widget`` against ``import httpx``, in fresh interpreters.

Each sample is a new ``python -c`` that times only the import statement (interpreter
start-up excluded); the two modules alternate so that load affects both alike. Both
import from cached bytecode, as an installed package does (pip compiles it at install):
the cache lives in a temporary ``PYTHONPYCACHEPREFIX``, filled by one untimed import of
each, so neither ``PYTHONDONTWRITEBYTECODE`` nor a repo without ``__pycache__`` makes
klein_widget compile its sources at every import while httpx loads bytecode. Also
checks that the import loads neither ipywidgets nor IPython, and lists what
klein_widget imports beyond httpx, heaviest first (``-X importtime``).

Example:
    >>> section = run(PRESETS["quick"])  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from bench._config import Config
from bench._emulator import ROOT
from bench._report import Section, median, ratio

TARGET = 1.5  # import time at most 1.5x httpx's (issue 8)
FORBIDDEN = ("ipywidgets", "IPython")
_TIMER = (
    "import time, sys, json; t = time.perf_counter(); import {module}; "
    "d = time.perf_counter() - t; "
    "print(json.dumps([d, sorted(m for m in {forbidden!r} if m in sys.modules)]))"
)


def _env(cache: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def _time_import(module: str, cache: str) -> tuple[float, list[str]]:
    code = _TIMER.format(module=module, forbidden=FORBIDDEN)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=_env(cache),
    ).stdout
    seconds, loaded = json.loads(out)
    return float(seconds), list(loaded)


def _importtime(module: str, cache: str) -> dict[str, tuple[int, int]]:
    """``(self, cumulative)`` microseconds per module imported by ``import module``."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=_env(cache),
    ).stderr
    result: dict[str, tuple[int, int]] = {}
    for line in err.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        if own.strip().isdigit() and cumulative.strip().isdigit():
            result[name.strip()] = (int(own), int(cumulative))
    return result


def extra_imports(cache: str, limit: int = 5) -> str:
    """What ``import klein_widget`` costs beyond httpx, from one ``-X importtime`` run."""
    ours, theirs = _importtime("klein_widget", cache), _importtime("httpx", cache)
    own = sum(t for name, (t, _) in ours.items() if name.split(".")[0] == "klein_widget")
    modules = sum(1 for name in ours if name.split(".")[0] == "klein_widget")
    stdlib = sorted(
        (
            (name, cumulative)
            for name, (_, cumulative) in ours.items()
            if name not in theirs and "." not in name and name != "klein_widget"
        ),
        key=lambda item: -item[1],
    )
    listed = ", ".join(f"{name} {us / 1000:.1f} ms" for name, us in stdlib[:limit]) or "none"
    return (
        f"Beyond httpx (one -X importtime run, which inflates times): klein_widget's own "
        f"{modules} modules {own / 1000:.1f} ms; other modules httpx does not load: {listed}."
    )


# The client's first use: its name is lazy, so this loads what making an image needs.
FIRST_USE = "klein_widget; klein_widget.KleinClient"


def run(config: Config) -> Section:
    """Alternate fresh-interpreter imports; report medians and their ratio."""
    times: dict[str, list[float]] = {"httpx": [], "klein_widget": [], FIRST_USE: []}
    loaded: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="klein-bench-pycache-") as cache:
        for module in times:
            _time_import(module, cache)  # compiles into the cache; not timed
        for index in range(config.import_repeats):
            if index % 10 == 0:
                print(f"  imports {index + 1}/{config.import_repeats}", file=sys.stderr)
            turn = list(times)[index % 3 :] + list(times)[: index % 3]  # load hits all alike
            for module in turn:
                seconds, found = _time_import(module, cache)
                times[module].append(seconds)
                if module == "klein_widget":
                    loaded.update(found)
        extras = extra_imports(cache)
    ours, theirs = times["klein_widget"], times["httpx"]
    ours_ms, theirs_ms = median(ours) * 1000, median(theirs) * 1000
    first_ms = median(times[FIRST_USE]) * 1000
    section = Section(
        "imports",
        "4. Import time in a fresh interpreter",
        f"`import httpx`, median {theirs_ms:.1f} ms over {len(theirs)} interpreters",
        ["median", "ratio", "loads ipywidgets/IPython"],
    )
    section.add(
        "import httpx",
        {"median": f"{theirs_ms:.1f} ms", "ratio": ratio(1.0), "loads ipywidgets/IPython": ""},
        values={"median_ms": theirs_ms, "ratio": 1.0},
    )
    section.add(
        "import klein_widget",
        {
            "median": f"{ours_ms:.1f} ms",
            "ratio": ratio(ours_ms / theirs_ms),
            "loads ipywidgets/IPython": ", ".join(sorted(loaded)) or "neither",
        },
        ratio=ours_ms / theirs_ms,
        target=TARGET,
        values={
            "median_ms": ours_ms,
            "ratio": ours_ms / theirs_ms,
            "forbidden_loaded": float(len(loaded)),
        },
    )
    section.add(
        "+ klein_widget.KleinClient",
        {"median": f"{first_ms:.1f} ms", "ratio": ratio(first_ms / theirs_ms)},
        values={"median_ms": first_ms, "ratio": first_ms / theirs_ms},
    )
    section.notes += [
        "klein_widget imports httpx itself, so 1.00x is the floor. Both load cached "
        "bytecode, as installed packages do.",
        "The clients, the session and the widget are lazy names: '+ klein_widget.KleinClient' "
        "is the import plus the client's first use (asyncio among others; no target).",
        extras,
    ]
    if loaded:
        section.notes.append(f"FAILED: `import klein_widget` loaded {', '.join(sorted(loaded))}.")
    return section
