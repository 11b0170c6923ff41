"""How big each benchmark is: the full run (about 9 minutes), ``--quick`` (about 3) and
``--smoke``; how long each takes on a 2-core machine is `Config.takes`, which ``--help``
shows and the README and RESULTS.md repeat (tests/bench/test_drift.py checks they agree).

Example:
    >>> PRESETS["smoke"].single_samples
    2
"""

from __future__ import annotations

from dataclasses import dataclass

PROMPT = "a red fox in fresh snow at golden hour, telephoto"
SIZE = 1024  # every image is 1024x1024, the size the 0.6 s figure is for


@dataclass(frozen=True)
class Config:
    """Counts and times of one run."""

    name: str
    takes: str = ""  # how long the whole run takes on a quiet 2-core machine
    inference_time: float = 0.6  # seconds the emulator spends "processing" an image
    photo_compress: int = 6  # the emulator's photo-weight PNGs: zlib level (1 draws faster)
    warmup: int = 2  # images per client before the measured ones (single, cpu, latency)
    single_samples: int = 20  # images per client for the end-to-end percentiles
    cold_samples: int = 5  # first images of brand-new clients
    batch_images: int = 64
    batch_concurrency: int = 8  # the emulator's limit, and the clients' pool size
    batch_repeats: int = 3
    import_repeats: int = 40  # fresh interpreters per module
    memory_generations: int = 200
    memory_inference_time: float = 0.02  # the memory is what matters, not the wait
    cpu_images: int = 12  # per client
    # Issue 17: one image over a network, and the client's CPU under load.
    latency_rtts: tuple[float, ...] = (0.0, 0.05, 0.15)  # seconds of round trip
    latency_samples: int = 5  # images per client per round trip (median reported)
    latency_size: int = 512
    inline_samples: int = 5  # images per mode and size in the inline-or-download table
    load_images: int = 300  # per CPU measurement at concurrency 32
    load_concurrency: int = 32
    load_size: int = 256
    scale_images: int = 10_000  # one generate_many run: peak RSS and images/s


PRESETS: dict[str, Config] = {
    "full": Config("full", takes="about 9 minutes"),
    "quick": Config(
        "quick",
        takes="about 3 minutes",
        single_samples=6,
        cold_samples=2,
        batch_images=32,
        batch_repeats=1,
        import_repeats=10,
        memory_generations=40,
        cpu_images=5,
        latency_samples=3,
        inline_samples=3,
        load_images=150,
        scale_images=2_000,
    ),
    # For the smoke test: every code path once, tiny counts, tiny inference time (one
    # warm-up image, one sample, one import per module: its figures are not read).
    "smoke": Config(
        "smoke",
        inference_time=0.05,
        photo_compress=1,
        warmup=1,
        single_samples=2,
        cold_samples=1,
        batch_images=8,
        batch_concurrency=4,
        batch_repeats=1,
        import_repeats=1,
        memory_generations=4,
        cpu_images=2,
        latency_rtts=(0.0, 0.05),
        latency_samples=1,
        inline_samples=1,
        load_images=10,
        load_concurrency=4,
        scale_images=20,
    ),
}
