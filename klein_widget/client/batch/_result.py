"""What a batch returns: `BatchResult`, one `BatchItem` per input, in input order.

A large batch keeps its images in the gallery, not in memory (`keeps_in_memory`), and
each item reads its image back on access.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from klein_widget.client._exceptions import KleinError
from klein_widget.client._generation import Generation
from klein_widget.client._metadata import strip_params
from klein_widget.client._models import GenerationRequest

__all__ = ["KEEP_IMAGES_UP_TO", "BatchItem", "BatchResult", "keeps_in_memory"]

# A batch of more images than this keeps them in the gallery and reads each back on
# access (10,000 images at 256x256 held ~1 GB); smaller ones keep them in memory.
KEEP_IMAGES_UP_TO = 256


def keeps_in_memory(keep_images: bool | None, images: int) -> bool:
    """Does a batch of ``images`` hold its images in memory (``keep_images=`` option)?

    Example:
        >>> keeps_in_memory(None, 12), keeps_in_memory(None, 10_000), keeps_in_memory(True, 10_000)
        (True, False, True)
    """
    return keep_images if keep_images is not None else images <= KEEP_IMAGES_UP_TO


@dataclass
class BatchItem:
    """One input of a batch: its request (seed concrete) and its image or its error.

    A large batch keeps its images in the gallery, not in memory: ``generation.image``
    is then read back from the file (parameters stripped: the bytes as served) on access.
    """

    index: int
    request: GenerationRequest
    error: BaseException | None = None
    skipped: bool = False  # already in the gallery: loaded from disk, nothing was sent
    resumed: bool = False  # paid for by an earlier run, fetched now, not submitted again
    _kept: Generation | None = field(default=None, repr=False)
    _on_disk: bool = field(default=False, repr=False)  # image read from _kept.path on access

    @property
    def ok(self) -> bool:
        """True if the item has its image."""
        return self._kept is not None

    @property
    def generation(self) -> Generation | None:
        """The image and everything needed to make it again (None if the item failed)."""
        if self._kept is None or not self._on_disk or self._kept.path is None:
            return self._kept
        try:
            image = strip_params(self._kept.path.read_bytes())
        except OSError as error:
            raise KleinError(
                f"Batch item {self.index}'s image was kept in the gallery, not in memory, "
                f"and reading it back failed ({error}). Pass keep_images=True to hold "
                "every image in memory."
            ) from None
        return dataclasses.replace(self._kept, image=image)

    def keep(self, generation: Generation, *, in_memory: bool) -> None:
        """Hold ``generation``; unless ``in_memory``, only its path when the gallery has it."""
        on_disk = not in_memory and generation.path is not None
        self._kept = dataclasses.replace(generation, image=b"") if on_disk else generation
        self._on_disk = on_disk


class BatchResult(Sequence[BatchItem]):
    """Per-item results of `generate_many`, in input order; one failure loses nothing else.

    Example:
        >>> result = client.generate_many(prompts, seed=1)  # doctest: +SKIP
        >>> result.generations  # the images, in order  # doctest: +SKIP
        >>> result.errors  # [(index, exception)]  # doctest: +SKIP
    """

    def __init__(self, items: Sequence[BatchItem]) -> None:
        self.items = list(items)

    @overload
    def __getitem__(self, index: int) -> BatchItem: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[BatchItem]: ...

    def __getitem__(self, index: int | slice) -> BatchItem | Sequence[BatchItem]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[BatchItem]:
        return iter(self.items)

    @property
    def generations(self) -> list[Generation]:
        """The images that are here (generated or from the gallery), in input order."""
        # One read per item: a large batch's `generation` reads its image from disk.
        return [made for item in self.items if (made := item.generation) is not None]

    @property
    def errors(self) -> list[tuple[int, BaseException]]:
        """``(input index, exception)`` for each item without an image."""
        return [(item.index, item.error) for item in self.items if item.error is not None]

    @property
    def skipped(self) -> int:
        """How many items came from the gallery instead of being generated."""
        return sum(item.skipped for item in self.items)

    def raise_for_errors(self) -> BatchResult:
        """Raise the first item's error, if any failed; else return self."""
        for _, error in self.errors:
            raise error
        return self

    def __repr__(self) -> str:
        made = sum(1 for item in self.items if item.ok and not (item.skipped or item.resumed))
        resumed = sum(1 for item in self.items if item.ok and item.resumed)
        parts = [f"{made} generated"]
        if self.skipped:
            parts.append(f"{self.skipped} from the gallery")
        if resumed:
            parts.append(f"{resumed} fetched from an earlier run")
        if self.errors:
            parts.append(f"{len(self.errors)} failed")
        return f"BatchResult({len(self)} items: {', '.join(parts)})"
