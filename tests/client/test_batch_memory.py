"""A large batch keeps its images in the gallery, not in memory (issue 17: 10,000 images held
~1 GB); every image still reads back byte for byte as served."""

from __future__ import annotations

from pathlib import Path

from klein_widget.client.batch._result import KEEP_IMAGES_UP_TO, keeps_in_memory
from klein_widget.emulator import Emulator
from tests.client.conftest import MakeClient


def test_only_large_batches_leave_their_images_on_disk_by_default() -> None:
    assert keeps_in_memory(None, KEEP_IMAGES_UP_TO)
    assert not keeps_in_memory(None, KEEP_IMAGES_UP_TO + 1)
    assert keeps_in_memory(True, 10_000)
    assert not keeps_in_memory(False, 2)


async def test_images_left_on_disk_read_back_as_served(
    make_client: MakeClient, emulator: Emulator, tmp_path: Path
) -> None:
    klein = make_client(gallery=str(tmp_path / "gallery"))
    prompts = [f"a kingfisher {i}" for i in range(3)]

    result = await klein("generate_many", prompts, width=256, height=256, seed=5, keep_images=False)

    assert [item.ok for item in result] == [True] * 3
    for item in result:
        assert item._kept is not None
        assert item._kept.image == b""  # not held in memory
        generation = item.generation
        assert generation is not None
        assert generation.path is not None
        assert generation.image == emulator.tasks[generation.task_id].image()  # as served
    assert [g.request.prompt for g in result.generations] == prompts


async def test_without_a_gallery_images_stay_in_memory(
    make_client: MakeClient, emulator: Emulator
) -> None:
    klein = make_client(gallery=False)

    result = await klein("generate_many", ["a wren"], width=256, height=256, keep_images=False)

    item = result[0]
    assert item.generation is not None
    assert item.generation.image == emulator.tasks[item.generation.task_id].image()
