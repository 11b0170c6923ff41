"""One ``AsyncKleinClient.generate_many`` run in a fresh process: its CPU, wall time and RSS.

Run by `bench.load`; not meant to be started by hand. A process of its own gives each run
its own ``getrusage`` (CPU time, peak RSS) and lets a run hide a package for real:

``--hide sniffio`` makes ``sniffio`` not installed for this process, the way it is missing
from an environment: before anything imports httpx, the site-packages entry of
``sys.path`` is swapped for a directory of symlinks to everything in it except the hidden
distribution. Every ``import sniffio`` then searches ``sys.path`` and fails, as it does
where sniffio is absent (a meta-path hook raising at once would cost less than that).

Prints one JSON line: ``images``, ``cpu_s`` and ``wall_s`` of the measured run (after a
warm-up run), ``rss_warm_mb`` (RSS after the warm-up), ``peak_rss_mb`` (the process's
maximum), ``sniffio`` (whether it was importable), ``errors``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def hide(distribution: str, scratch: Path) -> None:
    """Make ``distribution`` (a top-level module and its dist-info) unimportable here."""
    for index, entry in enumerate(list(sys.path)):
        folder = Path(entry)
        if not folder.is_dir() or not (folder / distribution).exists():
            continue
        overlay = scratch / f"path{index}"
        overlay.mkdir()
        for item in folder.iterdir():
            stem = item.name.split("-")[0].split(".")[0].lower()
            if stem != distribution:
                (overlay / item.name).symlink_to(item)
        sys.path[index] = str(overlay)
    sys.path_importer_cache.clear()


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--images", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--hide", default="")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the run here")
    parser.add_argument(
        "--transport",
        choices=("httpcore", "aiohttp"),
        default="httpcore",
        help="httpx's own transport, or httpx-aiohttp's (through http_client=)",
    )
    parser.add_argument(
        "--gallery", action="store_true", help="write every image to a temporary gallery"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="klein-bench-hide-") as scratch:
        if args.hide:
            hide(args.hide, Path(scratch))
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import importlib.util

    from bench._clients import API_KEY
    from bench._config import PROMPT
    from klein_widget import AsyncKleinClient

    async def batch(client: AsyncKleinClient, tag: str, n: int) -> int:
        result = await client.generate_many(
            [f"{PROMPT}, {tag} {i}" for i in range(n)],
            width=args.size,
            height=args.size,
            seed=1,
            concurrency=args.concurrency,
            progress=False,
            confirm=True,
            fresh=True,
        )
        return len(result.errors)

    async def go() -> dict[str, float]:
        import httpx

        from klein_widget.client._constants import POOL_LIMITS
        from klein_widget.client._transport import default_async_http

        # Named explicitly: the client's default is aiohttp's pool when it is installed.
        if args.transport == "aiohttp":
            http = default_async_http(POOL_LIMITS)
            assert not isinstance(http._transport, httpx.AsyncHTTPTransport), "no aiohttp"
        else:
            http = httpx.AsyncClient(limits=POOL_LIMITS)
        gallery: str | bool = False
        if args.gallery:
            gallery = tempfile.mkdtemp(prefix="klein-bench-gallery-")
        async with AsyncKleinClient(
            API_KEY, args.base_url, gallery=gallery, http_client=http
        ) as client:
            if args.warmup:
                await batch(client, "warm-up", args.warmup)
            rss_warm = _rss_mb()
            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            cpu, wall = time.process_time(), time.perf_counter()
            errors = await batch(client, "take", args.images)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
        await http.aclose()
        if isinstance(gallery, str):
            import shutil

            shutil.rmtree(gallery, ignore_errors=True)
        return {"cpu_s": cpu, "wall_s": wall, "rss_warm_mb": rss_warm, "errors": errors}

    figures = asyncio.run(go())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(
        json.dumps(
            {
                "images": args.images,
                **figures,
                "peak_rss_mb": peak,
                "sniffio": importlib.util.find_spec("sniffio") is not None,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
