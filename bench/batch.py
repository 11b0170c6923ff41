"""Benchmark 3: a batch of images against a server that runs ``concurrency`` at once.

The ideal is ``ceil(images / concurrency)`` waves of the inference time. klein_widget
runs `generate_many` with its defaults (sync and async clients; gallery, confirmation and
progress bar off); the official SDK runs ``Client.run`` + download in a thread pool of
``concurrency`` workers, the natural way to use it with an account limit of that size.

Example:
    >>> section = run(PRESETS["quick"], emulator)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import inspect
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench._clients import API_KEY, OFFICIAL_POLL, official
from bench._config import PROMPT, SIZE, Config
from bench._emulator import EmulatorProcess
from bench._report import Section, median, ratio, seconds
from klein_widget import AsyncKleinClient, KleinClient

TARGET = 1.15  # wall time at most 1.15x the ideal (issue 8)
KLEIN_SYNC_CLIENT = "KleinClient.generate_many"
KLEIN_ASYNC_CLIENT = "AsyncKleinClient.generate_many"
OFFICIAL_POOL = f"{OFFICIAL_POLL} in a thread pool"


def _default_concurrency() -> object:
    """What ``generate_many`` uses when ``concurrency`` is not given."""
    return inspect.signature(KleinClient.generate_many).parameters["concurrency"].default


def _prompts(config: Config, run: int) -> list[str]:
    # Distinct prompts: nothing may be deduplicated or found in a gallery.
    return [f"{PROMPT}, take {run}.{i}" for i in range(config.batch_images)]


def _klein_sync(config: Config, base_url: str) -> Callable[[int], int]:
    def batch(run: int) -> int:
        with KleinClient(API_KEY, base_url, gallery=False) as client:
            result = client.generate_many(
                _prompts(config, run),
                width=SIZE,
                height=SIZE,
                progress=False,
                confirm=True,
                fresh=True,
            )
        result.raise_for_errors()
        return len(result.generations)

    return batch


def _klein_async(config: Config, base_url: str) -> Callable[[int], int]:
    async def go(run: int) -> int:
        async with AsyncKleinClient(API_KEY, base_url, gallery=False) as client:
            result = await client.generate_many(
                _prompts(config, run),
                width=SIZE,
                height=SIZE,
                progress=False,
                confirm=True,
                fresh=True,
            )
        result.raise_for_errors()
        return len(result.generations)

    return lambda run: asyncio.run(go(run))


def _official_pool(config: Config, base_url: str) -> Callable[[int], int]:
    make = official(base_url)

    def batch(run: int) -> int:
        seeds = [run * 1000 + i for i in range(config.batch_images)]
        with ThreadPoolExecutor(max_workers=config.batch_concurrency) as pool:
            images = list(pool.map(make, seeds))
        return len(images)

    return batch


def run(config: Config, emulator: EmulatorProcess) -> Section:
    """Time each contender's batch ``batch_repeats`` times; report the median."""
    emulator.configure(inference_time=config.inference_time, concurrency=config.batch_concurrency)
    waves = math.ceil(config.batch_images / config.batch_concurrency)
    ideal = waves * config.inference_time
    contenders = {
        KLEIN_SYNC_CLIENT: _klein_sync(config, emulator.base_url),
        KLEIN_ASYNC_CLIENT: _klein_async(config, emulator.base_url),
        OFFICIAL_POOL: _official_pool(config, emulator.base_url),
    }
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    requests: dict[str, list[int]] = {name: [] for name in contenders}
    busy: dict[str, list[float]] = {name: [] for name in contenders}
    for repeat in range(config.batch_repeats):
        for name, batch in contenders.items():
            print(f"  batch {repeat + 1}/{config.batch_repeats}: {name}", file=sys.stderr)
            emulator.reset()  # an empty queue for each contender
            time.sleep(0.2)
            began = time.perf_counter()
            made = batch(repeat)
            walls[name].append(time.perf_counter() - began)
            assert made == config.batch_images, f"{name} made {made} images"
            requests[name].append(len(emulator.requests()))
            work = sum(finish - start for _, start, finish in emulator.tasks())
            busy[name].append(work / (config.batch_concurrency * walls[name][-1]))
    emulator.configure(concurrency=None)
    section = Section(
        "batch",
        f"3. A batch of {config.batch_images} images, server concurrency "
        f"{config.batch_concurrency}",
        f"the ideal, {waves} waves x {seconds(config.inference_time)} = {seconds(ideal)}; "
        f"median of {config.batch_repeats} run(s)",
        ["wall", "wall ratio", "server busy", "requests/image"],
    )
    for name, values in walls.items():
        wall = median(values)
        per_image = median([float(n) for n in requests[name]]) / config.batch_images
        section.add(
            name,
            {
                "wall": seconds(wall),
                "wall ratio": ratio(wall / ideal),
                "server busy": f"{median(busy[name]):.0%}",
                "requests/image": f"{per_image:.2f}",
            },
            ratio=wall / ideal,
            target=TARGET if name != OFFICIAL_POOL else None,
            values={
                "wall_s": wall,
                "ideal_s": ideal,
                "wall_ratio": wall / ideal,
                "requests_per_image": per_image,
                "server_busy": median(busy[name]),
                "runs": len(values),
            },
        )
    section.notes.append(
        "Wall time runs from the call to the last image downloaded, including client "
        "set-up. 'server busy': the share of the server's slot-time spent on the batch's "
        "images. generate_many runs with its default concurrency "
        f"({_default_concurrency()}); the official SDK's pool has as many workers as the "
        "server's concurrency."
    )
    return section
