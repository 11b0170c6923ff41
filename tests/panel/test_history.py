"""The history strip stays bounded however many images are made, and restores what it can."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path

from PIL import Image

from klein_widget import AsyncKleinClient, Generation, Session
from klein_widget.client._metadata import read_params, strip_params
from klein_widget.ui._images import THUMBNAIL_SIDE, placeholder, thumbnail
from klein_widget.widget._history import FULL_IMAGES, LIMIT, STEP
from klein_widget.widget._widget import KleinPanel

from .conftest import RecordingComm
from .test_panel import click_generate


async def make(client: AsyncKleinClient, count: int) -> list[Generation]:
    return list(
        await asyncio.gather(
            *(
                client.generate(f"fox number {i}", width=512, height=256, seed=i)
                for i in range(count)
            )
        )
    )


async def test_strip_is_bounded_and_keeps_few_full_images(
    async_client: AsyncKleinClient, tmp_path: Path
) -> None:
    generations = await make(async_client, LIMIT + 3)
    kept = tmp_path / "first.png"
    kept.write_bytes(generations[3].image)
    generations[3] = dataclasses.replace(generations[3], path=kept)  # as the gallery sets it
    generations[4] = dataclasses.replace(generations[4], path=None)  # as with no gallery
    panel = KleinPanel(async_client)
    try:
        for gen in generations:
            panel._add_external(gen)

        entries = panel.history
        assert len(entries) == LIMIT == len(panel.history_items)
        assert [e.task_id for e in entries] == [g.task_id for g in generations[::-1][:LIMIT]]
        assert [i["id"] for i in panel.history_items] == [e.task_id for e in entries]
        assert [e.generation is not None for e in entries] == (
            [True] * FULL_IMAGES + [False] * (LIMIT - FULL_IMAGES)
        )
        assert panel.history_count == LIMIT + 3  # the page says how many were made
        # Adding the same task again changes nothing.
        panel._add_external(generations[-1])
        assert len(panel.history) == LIMIT

        oldest = entries[-1]  # generations[3]: its file is still on disk
        panel.restore(oldest)
        # The file had no parameters: the panel embeds them (Download can be re-run).
        assert strip_params(panel.image) == generations[3].image
        assert (read_params(panel.image) or {}).get("seed") == 3
        assert panel.prompt == "fox number 3"
        assert panel.seed == 3

        no_file = entries[-2]  # generations[4]: not in memory, no file
        panel.restore(LIMIT - 2)
        assert panel.image == no_file.thumbnail
        assert panel.image_format == "jpeg"
        assert "(only its thumbnail is still kept)" in panel.status
        assert "seed=4," in panel.snippets["Python"]
    finally:
        panel.close()


async def test_thumbnails_are_small_and_nsfw_ones_blurred(
    async_client: AsyncKleinClient,
) -> None:
    gen = await async_client.generate("a striped fox", width=1536, height=768, seed=5)
    small = thumbnail(gen.image)
    blurred = thumbnail(gen.image, blur=True)
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "JPEG"
        assert image.size == (THUMBNAIL_SIDE, THUMBNAIL_SIDE // 2)
        sharp_extrema = image.convert("L").getextrema()
    with Image.open(io.BytesIO(blurred)) as image:
        blurred_extrema = image.convert("L").getextrema()
    assert len(small) < 10_000 < len(gen.image)
    # Blurring narrows the range of brightness: the badge and caption are no longer legible.
    assert blurred_extrema[1] - blurred_extrema[0] < sharp_extrema[1] - sharp_extrema[0]


async def test_an_image_that_cannot_be_shown_gets_a_placeholder(
    async_client: AsyncKleinClient,
) -> None:
    gen = await async_client.generate("a damaged fox", width=256, height=256, seed=1)
    broken = dataclasses.replace(gen, image=b"\x89PNG\r\n\x1a\n not really")
    panel = KleinPanel(async_client)
    try:
        panel._add_external(broken)
        (entry,) = panel.history
        assert entry.thumbnail == placeholder()
        assert size_of(entry.thumbnail) == (THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        assert panel.history == [entry]
    finally:
        panel.close()


def size_of(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.size


async def test_opening_a_panel_shows_at_once_and_fills_the_history_in_steps(
    shared: Session, recording: None
) -> None:
    # 2 * STEP + 1 images in the gallery, as after a kernel restart.
    made = []
    for seed in range(2 * STEP + 1):
        client = shared.async_client()
        made.append(await client.generate("a gallery fox", width=256, height=256, seed=seed))
    shared.history.clear()

    panel = KleinPanel()
    try:
        # The panel exists (and its first view can render) before any image is read.
        assert panel.history == []
        assert panel.history_items == []
        assert panel.history_loaded is not None

        await panel.history_loaded

        ids = [g.task_id for g in reversed(made)]
        assert [e.task_id for e in panel.history] == ids  # newest first
        assert [e.number for e in panel.history] == list(range(len(made), 0, -1))
        steps = thumbnail_messages(panel)
        assert [len(ids_) for ids_, _ in steps] == [STEP, STEP, 1]  # a few at a time
        assert [i for ids_, _ in steps for i in ids_] == ids  # each thumbnail once
        assert all(size > 0 for _, sizes in steps for size in sizes)

        # An image made meanwhile is numbered after the gallery's, and goes first.
        panel.prompt = "a newer fox"
        newer = await click_generate(panel)
        assert newer is not None
        assert panel.history[0].task_id == newer.task_id
        assert panel.history[0].number == len(made) + 1
    finally:
        panel.close()


def thumbnail_messages(panel: KleinPanel) -> list[tuple[list[str], list[int]]]:
    """(ids, buffer sizes) of each thumbnails message the panel sent."""
    assert isinstance(panel.comm, RecordingComm)
    return [
        (data["content"]["ids"], sizes)
        for _kind, data, sizes in panel.comm.sent
        if data.get("method") == "custom" and data["content"].get("type") == "thumbs"
    ]
