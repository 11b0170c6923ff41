"""Free re-runs (issue 14): a request with a seed of its own whose image the gallery holds
is answered from there, not sent and not paid; a random seed never is."""

from __future__ import annotations

import random

from klein_widget.emulator import Emulator
from tests.client.conftest import Both, MakeClient

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
SMALL = {"width": 256, "height": 256}


async def test_a_fixed_seed_is_made_once_then_comes_from_the_gallery(
    klein: Both, emulator: Emulator
) -> None:
    first = await klein("generate", "a lighthouse", seed=7, **SMALL)
    again = await klein("generate", "a lighthouse", seed=7, **SMALL)

    assert not first.from_gallery
    assert again.from_gallery
    assert again.image == first.image  # the bytes as served, not the gallery's copy
    assert again.task_id == first.task_id
    assert again.seed == 7
    assert emulator.count("POST", SUBMIT) == 1
    spend = klein.client.spend
    assert (spend.images, spend.reused, spend.saved) == (1, 1, 0.008)
    assert str(spend) == "1 image, $0.008 simulated (1 more from the gallery, $0.008 saved)"


async def test_fresh_asks_the_server_again(klein: Both, emulator: Emulator) -> None:
    await klein("generate", "a lighthouse", seed=7, **SMALL)
    again = await klein("generate", "a lighthouse", seed=7, fresh=True, **SMALL)

    assert not again.from_gallery
    assert emulator.count("POST", SUBMIT) == 2


async def test_a_different_size_or_prompt_is_a_different_image(
    klein: Both, emulator: Emulator
) -> None:
    await klein("generate", "a lighthouse", seed=7, **SMALL)
    wider = await klein("generate", "a lighthouse", seed=7, width=512, height=256)
    other = await klein("generate", "a lighthouse at night", seed=7, **SMALL)

    assert not wider.from_gallery
    assert not other.from_gallery
    assert emulator.count("POST", SUBMIT) == 3


async def test_a_random_seed_never_comes_from_the_gallery(
    make_client: MakeClient, emulator: Emulator
) -> None:
    # Two clients drawing the same "random" seed: the second is still made and paid.
    first = await make_client(rng=random.Random(5))("generate", "a heron", **SMALL)
    second = await make_client(rng=random.Random(5))("generate", "a heron", **SMALL)

    assert first.seed == second.seed
    assert not second.from_gallery
    assert emulator.count("POST", SUBMIT) == 2


async def test_without_a_gallery_nothing_is_reused(
    make_client: MakeClient, emulator: Emulator
) -> None:
    klein = make_client(gallery=False)
    await klein("generate", "a lighthouse", seed=7, **SMALL)
    again = await klein("generate", "a lighthouse", seed=7, **SMALL)

    assert not again.from_gallery
    assert emulator.count("POST", SUBMIT) == 2
