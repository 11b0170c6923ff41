"""Benchmark 9: the classroom gateway's capacity on one core, against the emulator upstream.

The emulator runs in its own process (`EmulatorProcess`, photo-weight PNGs); the gateway
runs ``klein gateway serve --upstream <emulator>`` in another, pinned to one CPU core; the
students are `AsyncKleinClient`s in this process, each with its own token. Figures:

- latency added per image: one image at a time, through the gateway vs straight to the
  emulator (median seconds, prompt to bytes in hand; the ratio is gateway / direct);
- kept-alive latency: one small request after another on one kept-alive connection (a
  finished task's result), through the gateway vs straight to the emulator: what the
  gateway adds to a request when nothing is waited for (TCP_NODELAY matters here);
- capacity: many students at once, distinct prompts (no free answers from the store):
  images/s and HTTP requests/s the gateway answered, and the gateway's CPU per image
  (user + system time of its process), from which images/s per core follows.

Run it with ``python -m bench --only gateway`` (not part of the default run).

Example:
    >>> section = run(PRESETS["quick"])  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._config import PROMPT, Config
from bench._emulator import ROOT, EmulatorProcess
from bench._report import Section, median, ratio, seconds
from klein_widget import AsyncKleinClient
from klein_widget.gateway import ClassDB

SIDE = 512
# (sequential images for latency, students, images per student) per preset
_COUNTS = {"smoke": (2, 4, 3), "quick": (8, 16, 10), "full": (20, 30, 20)}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _GatewayProcess:
    """``klein gateway serve`` in a child process on one core; its base URL from stdout."""

    def __init__(self, db: Path, upstream: str) -> None:
        env = {**os.environ, "WAVESPEED_API_KEY": "bench-teacher-key"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "klein_widget", "gateway", "serve", "--db", str(db),
             "--port", "0", "--upstream", upstream, "--concurrency", "64"],
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"listening on (http://\S+)", line)
        if found is None:
            self.proc.kill()
            raise RuntimeError(f"the gateway did not start: {line!r}")
        self.base_url = found.group(1)
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(self.proc.pid, {min(os.sched_getaffinity(0))})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


async def _one_at_a_time(base_url: str, key: str, n: int, tag: str) -> list[float]:
    times = []
    async with AsyncKleinClient(key, base_url, gallery=False) as client:
        for i in range(n + 1):  # the first warms the connection and the poll schedule
            began = time.perf_counter()
            await client.generate(f"{PROMPT}, {tag} {i}", width=SIDE, height=SIDE, seed=i)
            times.append(time.perf_counter() - began)
    return times[1:]


async def _classroom(base_url: str, tokens: list[str], per_student: int) -> tuple[float, int]:
    """Every student makes ``per_student`` images one after another, all at once.
    Returns (seconds, HTTP requests sent)."""
    sent = 0

    async def count(_: httpx.Request) -> None:
        nonlocal sent
        sent += 1

    async def student(index: int, token: str) -> None:
        http = httpx.AsyncClient(event_hooks={"request": [count]})
        async with http, AsyncKleinClient(token, base_url, http_client=http, gallery=False) as c:
            for i in range(per_student):
                await c.generate(f"{PROMPT}, student {index} image {i}", width=SIDE,
                                 height=SIDE, seed=i)  # fmt: skip

    began = time.perf_counter()
    await asyncio.gather(*(student(i, t) for i, t in enumerate(tokens)))
    return time.perf_counter() - began, sent


def _kept_alive(base_url: str, key: str, n: int) -> float:
    """Median seconds of a finished task's result GET, ``n`` times on one connection."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        body = {"prompt": f"{PROMPT}, kept alive", "size": "256*256", "seed": 1,
                "enable_sync_mode": True}  # fmt: skip
        task_id = client.post("/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image",
                              json=body).json()["data"]["id"]  # fmt: skip
        times = []
        for _ in range(n + 5):  # the first few warm the connection
            began = time.perf_counter()
            client.get(f"/api/v3/predictions/{task_id}/result").raise_for_status()
            times.append(time.perf_counter() - began)
    return median(times[5:])


def run(config: Config) -> Section:
    """Measure, and return the section."""
    samples, students, per_student = _COUNTS.get(config.name, _COUNTS["quick"])
    section = Section(
        "gateway",
        f"9. Classroom gateway on one core ({students} students x {per_student} images)",
        f"straight to the emulator (inference {config.inference_time:g} s, {SIDE}x{SIDE})",
        [
            "p50 per image",
            "added",
            "kept-alive GET",
            "images/s",
            "requests/s",
            "gateway CPU/image",
        ],
    )
    with tempfile.TemporaryDirectory(prefix="klein-bench-gateway-") as scratch:
        db_path = Path(scratch) / "class.sqlite3"
        db = ClassDB(db_path)
        tokens = [db.add_student(f"student{i}", 1_000_000) for i in range(students)]
        db.close()
        with EmulatorProcess(inference_time=config.inference_time) as emulator:
            gateway = _GatewayProcess(db_path, emulator.base_url)
            try:
                alive_direct = _kept_alive(emulator.base_url, "bench-key", 10 * samples)
                alive_through = _kept_alive(gateway.base_url, tokens[0], 10 * samples)
                direct = median(asyncio.run(
                    _one_at_a_time(emulator.base_url, "bench-key", samples, "direct")))  # fmt: skip
                through = median(asyncio.run(
                    _one_at_a_time(gateway.base_url, tokens[0], samples, "gateway")))  # fmt: skip
                cpu_before = _cpu_seconds(gateway.proc.pid)
                wall, sent = asyncio.run(_classroom(gateway.base_url, tokens, per_student))
                cpu = _cpu_seconds(gateway.proc.pid) - cpu_before
            finally:
                gateway.stop()
    images = students * per_student
    alive_ms = f"{alive_through * 1000:.2f} ms (+{(alive_through - alive_direct) * 1000:.2f})"
    section.add(
        "direct",
        {"p50 per image": seconds(direct), "kept-alive GET": f"{alive_direct * 1000:.2f} ms"},
        values={"p50_s": direct, "kept_alive_ms": alive_direct * 1000},
    )
    per_image_ms = cpu / images * 1000
    section.add(
        "through the gateway",
        {
            "p50 per image": seconds(through),
            "added": f"{(through - direct) * 1000:.0f} ms ({ratio(through / direct)})",
            "kept-alive GET": alive_ms,
            "images/s": f"{images / wall:.1f}",
            "requests/s": f"{sent / wall:.0f}",
            "gateway CPU/image": f"{per_image_ms:.1f} ms",
        },
        ratio=through / direct,
        values={
            "p50_s": through,
            "added_ms": (through - direct) * 1000,
            "kept_alive_ms": alive_through * 1000,
            "kept_alive_added_ms": (alive_through - alive_direct) * 1000,
            "images_per_s": images / wall,
            "requests_per_s": sent / wall,
            "gateway_cpu_ms_per_image": per_image_ms,
            "images_per_core_s": 1000 / per_image_ms if per_image_ms else 0.0,
        },
    )
    section.notes.append(
        f"one core of gateway CPU serves about {1000 / max(per_image_ms, 1e-9):.0f} images/s "
        f"({60_000 / max(per_image_ms, 1e-9):.0f} a minute); the upstream account's tier "
        "(Bronze 2/min ... Ultra 5000/min) is the limit long before that"
    )
    return section
