"""Run the benchmarks of issues 8 and 17: klein_widget against WaveSpeed's official SDK.

    .venv/bin/python -m bench            # the full run, about 9 minutes
    .venv/bin/python -m bench --only latency,load   # issue 17's figures, about 4 minutes
    .venv/bin/python -m bench --quick    # about 3 minutes, for development
    .venv/bin/python -m bench --only single,batch --json out.json
    .venv/bin/python -m bench --record   # also write the figures into bench/RESULTS.md

The emulator runs on loopback in a child process (its CPU and memory are not the
client's) with 0.6 s of simulated inference; `latency` adds a network round trip to
every request, `load` runs the client in child processes at concurrency 32. Every figure
is printed as a ratio to a baseline measured in the same run. Progress goes to stderr,
figures to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench._config import PRESETS, Config
from bench._emulator import ROOT, EmulatorProcess
from bench._report import Section

SECTIONS = ("single", "batch", "cpu", "imports", "memory", "latency", "load", "stall")
ON_REQUEST = ("gateway",)  # only with --only: issue 16's classroom gateway
RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "klein_widget": version("klein-widget"),
        "wavespeed": version("wavespeed"),
        "httpx": version("httpx"),
        "requests": version("requests"),
        "httpcore": _version("httpcore"),
        "anyio": _version("anyio"),
        "sniffio": _version("sniffio"),
        "load_before": [round(x, 2) for x in load],
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _describe(info: dict[str, Any]) -> str:
    return (
        f"{info['cores']} cores ({info['cpu']}), Python {info['python']}, {info['os']}; "
        f"klein_widget {info['klein_widget']}, wavespeed {info['wavespeed']}, "
        f"httpx {info['httpx']}, httpcore {info.get('httpcore')}, anyio {info.get('anyio')}, "
        f"sniffio {info.get('sniffio')}, requests {info['requests']}; load average "
        f"{info['load_before']} before, {info.get('load_after', '?')} after; {info['when']}"
    )


def run(config: Config, only: Sequence[str]) -> list[Section]:
    """Run the chosen benchmarks, printing each section as it completes."""
    sections: list[Section] = []

    def done(*new: Section) -> None:
        for section in new:
            sections.append(section)
            print(section.text() + "\n", flush=True)

    with tempfile.TemporaryDirectory(prefix="klein-bench-") as scratch:
        gallery = Path(scratch) / "gallery"
        # Nothing may land in ./klein-outputs, whatever a client's default.
        os.environ["KLEIN_GALLERY"] = str(gallery / "default")
        needs_server = {"single", "batch", "cpu", "latency", "load", "memory", "stall"} & set(only)
        if needs_server:
            with EmulatorProcess(
                inference_time=config.inference_time, photo_compress=config.photo_compress
            ) as emulator:
                if "single" in only:
                    from bench import single

                    print("single image (1) and requests (2)", file=sys.stderr)
                    done(*single.run(config, emulator, gallery / "single"))
                if "batch" in only:
                    from bench import batch

                    print("batch (3)", file=sys.stderr)
                    done(batch.run(config, emulator))
                if "cpu" in only:
                    from bench import cpu

                    print("client CPU (6)", file=sys.stderr)
                    done(cpu.run(config, emulator, gallery / "cpu"))
                if "latency" in only:
                    from bench import latency

                    print("one image over a network (7)", file=sys.stderr)
                    done(*latency.run(config, emulator))
                if "load" in only:
                    from bench import load

                    print("client CPU under load, and a big batch (8)", file=sys.stderr)
                    done(load.run(config, emulator))
                if "memory" in only:
                    from bench import memory

                    print("kernel memory (5)", file=sys.stderr)
                    done(memory.run(config, emulator, gallery))
                if "stall" in only:
                    from bench import stall

                    print("event-loop stall on a slow disk (10)", file=sys.stderr)
                    done(stall.run(config, emulator))
        if "gateway" in only:
            from bench import gateway

            print("classroom gateway (9)", file=sys.stderr)
            done(gateway.run(config))
        if "imports" in only:
            from bench import imports

            print("imports (4)", file=sys.stderr)
            done(imports.run(config))
    order = {"single": 1, "requests": 2, "batch": 3, "imports": 4, "memory": 5, "cpu": 6}
    order.update(latency=7, inline=8, load=9, gateway=10, stall=11)
    return sorted(sections, key=lambda s: order.get(s.key, 99))


def summary(sections: Sequence[Section]) -> str:
    """One line per target: met or MISSED."""
    lines = []
    for section in sections:
        for row in section.rows:
            if row.verdict:
                lines.append(f"   {row.verdict:6} {section.title.split(' ', 1)[0]} {row.label}")
    return "== targets ==\n" + ("\n".join(lines) if lines else "   (none measured)")


def record(sections: Sequence[Section], info: dict[str, Any], command: str) -> None:
    """Replace the figures in bench/RESULTS.md, keeping the text around them."""
    figures = "\n\n".join(
        [
            f"Command: `{command}` (preset `{info['preset']}`)",
            f"Machine: {_describe(info)}",
            *(section.markdown() for section in sections),
        ]
    )
    block = f"{BEGIN}\n{figures}\n{END}"
    text = RESULTS.read_text() if RESULTS.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    RESULTS.write_text(head + block + tail)


def drift(sections: Sequence[Section]) -> str:
    """The figures more than 20% off their last recording in RESULTS.md, one line each."""
    from bench._drift import THRESHOLD, drift_lines, recorded_figures, section_figures

    text = RESULTS.read_text() if RESULTS.exists() else ""
    block = text.partition(BEGIN)[2].partition(END)[0]
    when = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d UTC)", block)
    lines = drift_lines(recorded_figures(block), section_figures(sections))
    head = (
        f"== more than {THRESHOLD:.0%} off the figures recorded in {RESULTS.name}"
        f" ({when.group(1) if when else 'no date'}) =="
    )
    return head + "\n" + ("\n".join(lines) if lines else "   (none)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=f"short run ({PRESETS['quick'].takes})")
    size.add_argument(
        "--smoke", action="store_true", help="tiny counts and inference time (for the test)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all; "
        "single includes the requests count)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--record", action="store_true", help="write the figures into bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(SECTIONS) - set(ON_REQUEST)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; pick from {SECTIONS}")
    preset = "smoke" if args.smoke else "quick" if args.quick else "full"
    config = PRESETS[preset]
    info = {**machine(), "preset": preset}
    command = "python -m bench " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    print(f"klein_widget benchmarks ({preset}): {command.strip()}", flush=True)
    began = time.perf_counter()
    sections = run(config, only)
    info["load_after"] = [round(x, 2) for x in os.getloadavg()]
    info["seconds"] = round(time.perf_counter() - began, 1)
    print(summary(sections))
    print(drift(sections))
    print(f"\nMachine: {_describe(info)}; the run took {info['seconds']} s.")
    if args.json:
        data = {"machine": info, "command": command, "sections": [s.to_json() for s in sections]}
        args.json.write_text(json.dumps(data, indent=2))
    if args.record:
        record(sections, info, command.strip())
        print(f"Recorded in {RESULTS.relative_to(ROOT)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
