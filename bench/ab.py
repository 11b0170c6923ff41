"""Before and after in one run: client CPU per image of another checkout against this one.

    .venv/bin/python -m bench.ab --before /path/to/other/checkout    # about 3 minutes

Each figure comes from fresh child processes that alternate between the two checkouts
(``PYTHONPATH`` puts the other one first), so both see the same machine load:

- CPU per image of the blocking client making 1024x1024 images one after another
  (polling, sync mode, polling with the gallery), as bench section 6 measures;
- CPU per image of ``AsyncKleinClient.generate_many`` at concurrency 32 (256x256, 0 s
  inference), as section 8 does; this checkout over httpx's own pool and over
  httpx-aiohttp's (the other checkout runs its defaults).

Prints medians and ratios to the other checkout. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench._emulator import ROOT, EmulatorProcess

SEQUENTIAL = """
import json, sys, tempfile, time
from pathlib import Path
from bench._clients import API_KEY, klein
from klein_widget import KleinClient
url, n = sys.argv[1], int(sys.argv[2])
out = {}
with tempfile.TemporaryDirectory() as tmp:
    for mode in ("polling", "sync_mode", "polling + gallery"):
        gallery = Path(tmp) if mode.endswith("gallery") else False
        client = KleinClient(API_KEY, url, gallery=gallery)
        make = klein(client, sync=mode == "sync_mode")
        for seed in range(2):
            make(900 + seed)
        began = time.process_time()
        for seed in range(n):
            make(1000 * len(out) + seed)
        out[mode] = (time.process_time() - began) / n * 1000
        client.close()
print(json.dumps(out))
"""


def _run(tree: Path, command: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="the other checkout")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": ROOT}
    sequential: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    loaded: dict[str, list[float]] = {}
    with EmulatorProcess(inference_time=0.1) as emulator:
        for _ in range(args.repeats):
            for name, tree in trees.items():
                code = [sys.executable, "-c", SEQUENTIAL, emulator.base_url, "12"]
                for mode, ms in json.loads(_run(tree, code)).items():
                    sequential[name].setdefault(mode, []).append(ms)
        emulator.configure(inference_time=0.0)
        variants = {
            "before, its defaults": (trees["before"], []),
            "after, httpx's pool": (ROOT, ["--transport=httpcore"]),
            "after, httpx-aiohttp's pool": (ROOT, ["--transport=aiohttp"]),
        }
        for _ in range(args.repeats):
            for name, (tree, extra) in variants.items():
                emulator.reset()
                child = [sys.executable, "-m", "bench._load_child", "--images=300"]
                child += [f"--base-url={emulator.base_url}", "--concurrency=32", "--size=256"]
                figures = json.loads(_run(tree, [*child, "--warmup=64", *extra]))
                loaded.setdefault(name, []).append(figures["cpu_s"] / figures["images"] * 1000)
    print("CPU per image, blocking client, 1024x1024 one after another (median):")
    for mode, before in sequential["before"].items():
        b, a = statistics.median(before), statistics.median(sequential["after"][mode])
        print(f"  {mode:20} before {b:5.1f} ms  after {a:5.1f} ms  {a / b:.2f}x")
    print("CPU per image, AsyncKleinClient.generate_many at concurrency 32 (median):")
    base = statistics.median(loaded["before, its defaults"])
    for name, values in loaded.items():
        value = statistics.median(values)
        print(f"  {name:28} {value:5.1f} ms  {value / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
