"""Benchmark 8: the client's CPU per image under load, and a 10,000-image batch (issue 17).

Each run is ``AsyncKleinClient.generate_many`` in a fresh child process
(`bench._load_child`), against the emulator with no inference time and no network delay,
so the client's own cost is all there is to see:

- CPU per delivered image at concurrency 32 (``time.process_time()`` in the child over
  the measured run, after a warm-up run), once with ``sniffio`` importable and once with it
  hidden (not installed, for that process only): httpcore's async code asks sniffio which
  event loop runs on every request, and an ``import sniffio`` that fails each time is
  expensive. The two alternate, ``load_repeats`` times each; medians are reported.
- one run of ``scale_images`` images (0 s inference, 256x256): images per second and the
  child's peak RSS (``getrusage``), which includes every image the result holds.

Example:
    >>> section = run(PRESETS["quick"], emulator)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from typing import Any

from bench._config import Config
from bench._emulator import ROOT, EmulatorProcess
from bench._report import Section, median, ratio

TARGET_MS = 5.0  # client CPU per image at concurrency 32 (issue 17)
WITH = "httpx's pool, sniffio importable"
WITHOUT = "httpx's pool, sniffio not installed"
AIOHTTP = "httpx-aiohttp's pool (the default when installed)"


def child(
    emulator: EmulatorProcess,
    *,
    images: int,
    concurrency: int,
    size: int,
    hide: str = "",
    transport: str = "httpcore",
    gallery: bool = False,
) -> dict[str, Any]:
    """Run one generate_many in a fresh process against a reset emulator; its figures."""
    emulator.reset()
    command = [
        sys.executable,
        "-m",
        "bench._load_child",
        f"--base-url={emulator.base_url}",
        f"--images={images}",
        f"--concurrency={concurrency}",
        f"--size={size}",
        f"--warmup={concurrency * 2}",
    ]
    if hide:
        command.append(f"--hide={hide}")
    command.append(f"--transport={transport}")
    if gallery:
        command.append("--gallery")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load child failed ({done.returncode}):\n{done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["errors"]:
        raise RuntimeError(f"load child: {figures['errors']} of {images} images failed")
    return figures


def run(config: Config, emulator: EmulatorProcess, repeats: int = 3) -> Section:
    """CPU per image with and without sniffio, then the big batch."""
    emulator.configure(inference_time=0.0, concurrency=None, rate_limit=None, network_delay=0.0)
    n, concurrency, size = config.load_images, config.load_concurrency, config.load_size
    installed = importlib.util.find_spec("sniffio") is not None
    aiohttp = importlib.util.find_spec("httpx_aiohttp") is not None
    variants = {WITH: ("", "httpcore"), WITHOUT: ("sniffio", "httpcore")}
    if not installed:
        variants = {WITHOUT: ("", "httpcore")}
    if aiohttp:
        variants[AIOHTTP] = ("", "aiohttp")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for repeat in range(repeats if config.name == "full" else 1):
        for name, (hide, transport) in variants.items():
            print(f"  load {repeat + 1}: {n} images, {name}", file=sys.stderr)
            figures = child(
                emulator,
                images=n,
                concurrency=concurrency,
                size=size,
                hide=hide,
                transport=transport,
            )
            if transport == "httpcore":
                sniffio = figures["sniffio"]
                assert sniffio == (name == WITH), f"{name}: sniffio {sniffio}"
            runs[name].append(figures)
    print(f"  load: {config.scale_images} images in one generate_many", file=sys.stderr)
    best = "aiohttp" if aiohttp else "httpcore"
    scale = child(
        emulator,
        images=config.scale_images,
        concurrency=concurrency,
        size=size,
        transport=best,
        gallery=True,
    )
    emulator.reset()
    section = Section(
        "load",
        f"8. Client CPU per image at concurrency {concurrency}, and "
        f"{config.scale_images:,} images in one batch",
        f"the issue's target, {TARGET_MS:g} ms of client CPU per image; "
        f"AsyncKleinClient.generate_many, {size}x{size}, 0 s inference, no network delay",
        ["images", "CPU/image", "vs target", "images/s", "peak RSS"],
    )
    for name, measured in runs.items():
        cpu_ms = median([f["cpu_s"] for f in measured]) / n * 1000
        rate = n / median([f["wall_s"] for f in measured])
        section.add(
            f"{n} images, {name}",
            {
                "images": str(n),
                "CPU/image": f"{cpu_ms:.1f} ms",
                "vs target": ratio(cpu_ms / TARGET_MS),
                "images/s": f"{rate:.0f}",
                "peak RSS": f"{median([f['peak_rss_mb'] for f in measured]):.0f} MB",
            },
            ratio=cpu_ms / TARGET_MS,
            target=1.0,
            target_text=f"<= {TARGET_MS:g} ms",
            values={"cpu_ms": cpu_ms, "images_per_s": rate, "runs": len(measured)},
        )
    cpu_ms = scale["cpu_s"] / scale["images"] * 1000
    rate = scale["images"] / scale["wall_s"]
    growth = scale["peak_rss_mb"] / scale["rss_warm_mb"]
    section.add(
        f"{scale['images']:,} images, gallery on, {AIOHTTP if aiohttp else WITH}",
        {
            "images": f"{scale['images']:,}",
            "CPU/image": f"{cpu_ms:.1f} ms",
            "vs target": ratio(cpu_ms / TARGET_MS),
            "images/s": f"{rate:.0f}",
            "peak RSS": f"{scale['peak_rss_mb']:.0f} MB",
        },
        values={
            "cpu_ms": cpu_ms,
            "images_per_s": rate,
            "peak_rss_mb": scale["peak_rss_mb"],
            "rss_warm_mb": scale["rss_warm_mb"],
            "wall_s": scale["wall_s"],
        },
    )
    repeats_done = len(next(iter(runs.values())))
    section.notes += [
        f"Each run is a fresh process: a warm-up batch of {concurrency * 2} images, then the "
        f"measured one; CPU and images/s are medians of {repeats_done} run(s) per row, "
        "alternating. The emulator runs in its own process on the same machine, so images/s "
        "is bounded by both processes sharing the cores.",
        f"'{WITHOUT}': sniffio's files are hidden from that process's sys.path, so every "
        "`import sniffio` searches and fails as where it is absent"
        + ("" if installed else "; sniffio is not installed here, so there is no other row")
        + ".",
        f"The {scale['images']:,}-image run writes every image to a temporary gallery (the "
        "default configuration) and so, past 256 images, keeps each one there rather than "
        f"in memory (keep_images=None): RSS {scale['rss_warm_mb']:.0f} MB after the "
        f"warm-up, peak {scale['peak_rss_mb']:.0f} MB ({ratio(growth)}), "
        f"{scale['wall_s']:.1f} s wall. Held in memory ({size}x{size} photo-weight PNGs, "
        "about 100 KB each) 10,000 images peaked at 1067 MB.",
        "httpx-aiohttp's pool: `AsyncKleinClient`'s default when `httpx-aiohttp` is "
        "installed (`klein_widget/client/_transport.py`); the rows above it use httpx's "
        "own pool (httpcore).",
    ]
    return section
