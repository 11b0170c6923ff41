"""Benchmark 6: client CPU time per image (this process only; the emulator runs in another).

``time.process_time()`` over a run of images, each client reused and warmed up first.
Nothing else runs in this process meanwhile, so all of it is the client's: HTTP, JSON,
polling, and for klein_widget the image checks (and the gallery write where noted).

Example:
    >>> section = run(PRESETS["quick"], emulator, gallery)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench._clients import (
    API_KEY,
    KLEIN_GALLERY,
    KLEIN_POLL,
    KLEIN_SYNC,
    OFFICIAL_POLL,
    OFFICIAL_SYNC,
    Maker,
    Makers,
)
from bench._config import PROMPT, SIZE, Config
from bench._emulator import EmulatorProcess
from bench._report import Section, ratio
from klein_widget import AsyncKleinClient

KLEIN_ASYNC = "AsyncKleinClient polling"


def _sequential(make: Maker) -> Callable[[int, int], None]:
    """Make ``n`` images one after another with ``make``."""

    def images(first_seed: int, n: int) -> None:
        for seed in range(first_seed, first_seed + n):
            make(seed)

    return images


def _async_cpu(base_url: str, first_seed: int, n: int, warmup: int) -> float:
    """CPU seconds per image of one AsyncKleinClient making ``n`` images in turn, warmed up."""

    async def go() -> float:
        async with AsyncKleinClient(API_KEY, base_url, gallery=False) as client:
            for seed in range(first_seed, first_seed + warmup):
                await client.generate(PROMPT, width=SIZE, height=SIZE, seed=seed)
            began = time.process_time()
            for seed in range(first_seed + warmup, first_seed + warmup + n):
                await client.generate(PROMPT, width=SIZE, height=SIZE, seed=seed)
            return (time.process_time() - began) / n

    return asyncio.run(go())


def run(config: Config, emulator: EmulatorProcess, gallery: Path) -> Section:
    """CPU seconds per image for each client."""
    emulator.configure(inference_time=config.inference_time, concurrency=None)
    n = config.cpu_images
    per_image: dict[str, float] = {}
    with Makers(emulator.base_url, gallery=gallery) as makers:
        runs: dict[str, Callable[[int, int], None]] = {}
        for name in (KLEIN_POLL, KLEIN_SYNC, KLEIN_GALLERY, OFFICIAL_POLL, OFFICIAL_SYNC):
            runs[name] = _sequential(makers.get(name))
        seed = 5000
        for name, images in runs.items():
            print(f"  cpu: {name}", file=sys.stderr)
            images(seed, config.warmup)
            began = time.process_time()
            images(seed + config.warmup, n)
            per_image[name] = (time.process_time() - began) / n
            seed += config.warmup + n
        print(f"  cpu: {KLEIN_ASYNC}", file=sys.stderr)
        per_image[KLEIN_ASYNC] = _async_cpu(emulator.base_url, seed, n, config.warmup)
    sdk = per_image[OFFICIAL_POLL]
    inference = config.inference_time
    section = Section(
        "cpu",
        "6. Client CPU time per image (client process only)",
        f"the official SDK's run() + requests download, {sdk * 1000:.1f} ms CPU per image; "
        f"{n} images per client",
        ["CPU/image", "vs SDK", "of inference time"],
    )
    for name, cpu in per_image.items():
        section.add(
            name,
            {
                "CPU/image": f"{cpu * 1000:.1f} ms",
                "vs SDK": ratio(cpu / sdk),
                "of inference time": f"{cpu / inference:.1%}",
            },
            values={"cpu_ms": cpu * 1000, "vs_sdk": cpu / sdk, "of_inference": cpu / inference},
        )
    section.notes.append(
        f"Each client makes {config.warmup} images before the measured ones. The images are "
        "photo-weight PNGs (about 1.5 MB), so the download and the gallery's copy cost "
        "what they would with real output."
    )
    return section
