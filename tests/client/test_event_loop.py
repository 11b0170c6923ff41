"""The async client never blocks its event loop on disk work (issue 27, item 2).

On a slow disk (a network home directory, as on JupyterHub) every journal call is slow;
the loop is the kernel's, so a stall there freezes the panel and every other cell. The
journal here is the real gallery on a disk whose every call takes 0.3 s, passed in through
the client's public ``journal=`` argument; a probe task measures how late the loop wakes it
(both from ``bench/stall.py``, whose row records the worst lateness against issue 27's 100 ms).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.stall import SLOW_DISK, SlowDiskGallery, measured
from klein_widget import AsyncKleinClient, BudgetExceededError
from klein_widget.emulator import RunningEmulator
from tests.conftest import FAKE_KEY, fast_options


async def test_a_slow_disk_never_stalls_the_loop(
    tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    gallery = SlowDiskGallery(tmp_path / "gallery", SLOW_DISK)
    async with AsyncKleinClient(
        FAKE_KEY, live_emulator.base_url, journal=gallery, **fast_options()
    ) as client:
        # First use opens the pool and imports what decoding needs: not the disk's doing.
        await client.generate("a warm-up", width=256, height=256)

        async def make() -> None:
            first = await client.generate("a fox", width=256, height=256, seed=3)
            again = await client.generate("a fox", width=256, height=256, seed=3)
            assert again.from_gallery
            assert again.image == first.image
            result = await client.generate_many(
                ["a cat", "a heron"], width=256, height=256, seed=4, progress=False
            )
            assert [item.ok for item in result] == [True, True]

        lag = await measured(make())
    assert gallery.calls >= 11  # each of them 0.3 s on the disk
    # None of them ran on the loop's thread: that is what never stalls it, and unlike the
    # probe's lateness it holds however busy the machine is (with several test processes
    # on a loaded 2-core machine the probe woke 0.13 s late with no call on the loop, so
    # the lateness is shown, not asserted: tests assert no wall-clock times).
    assert gallery.on_the_loop == 0
    assert lag.wakes > 0  # the loop ran other tasks meanwhile
    print(f"the loop's worst lateness: {lag.worst * 1000:.0f} ms")


async def test_an_awaited_batch_over_its_limit_raises_instead_of_asking(
    tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    async with AsyncKleinClient(
        FAKE_KEY, live_emulator.base_url, gallery=tmp_path / "g", **fast_options()
    ) as client:
        with pytest.raises(BudgetExceededError) as caught:
            await client.generate_many(["a fox", "a cat"], seed=5, confirm_over=0.01)
    message = str(caught.value)
    assert "would generate 2 new images for $0.016, over confirm_over=$0.01" in message
    assert "does not stop to ask, so nothing was sent" in message
    assert "Pass confirm=True (or a higher confirm_over) to go ahead" in message
