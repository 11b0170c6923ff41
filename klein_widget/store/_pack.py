"""Lesson packs: images made once (by a teacher, with a key) that answer the same requests free.

A pack is a zip file or a folder::

    manifest.json                           format, version, one line per image
    images/a-red-fox-768x512-42.png         the image as the gallery wrote it (params embedded)

`open_pack` checks the manifest and every name and size (see `_pack_files`) without
extracting anything; an image is read only when a request asks for it, and then its
sha256, its embedded parameters and its pixel count are checked against its manifest line.
`LessonPack.stored` has the gallery's contract (the `Journal` hook): the image made for
exactly this model, prompt, size and concrete seed, or None. Packs are attached
read-only to a gallery (``Gallery(packs=...)``), to every gallery of the process
(`attach_pack`, ``$KLEIN_PACKS``), or to the emulator (``create_app(packs=...)``).

Example:
    >>> pack = open_pack("lesson-02.zip")  # doctest: +SKIP
    >>> pack.stored(GenerationRequest("a red fox", 768, 512, 42)).from_pack  # doctest: +SKIP
    'lesson-02.zip'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from os import PathLike
from pathlib import Path

from klein_widget.client._constants import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
from klein_widget.client._generation import Generation
from klein_widget.client._metadata import check_image, read_params, strip_params
from klein_widget.client._models import GenerationRequest, Prediction
from klein_widget.store._manifest import PACK_FORMAT, PACK_VERSION, PackEntry, read_manifest
from klein_widget.store._pack_files import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    FolderFiles,
    PackError,
    ZipFiles,
    pack_files,
)

__all__ = ["PACK_FORMAT", "PACK_VERSION", "LessonPack", "PackEntry", "PackError", "open_pack"]

_KEYS = ("model", "prompt", "width", "height", "seed")  # what must match inside the image


def refused(where: Path, error: BaseException) -> PackError:
    """The one way a bad pack is refused: which pack, what is wrong, and what to do.

    Example:
        >>> str(refused(Path("/x/p.zip"), PackError("it has no manifest.json")))[:47]
        'The lesson pack /x/p.zip is refused: it has no '
    """
    return PackError(
        f"The lesson pack {where} is refused: {error}. Ask for a new copy of the pack "
        "(or make it again with `klein pack make`)."
    )


def check_image_file(entry: PackEntry, data: bytes) -> bytes:
    """The image as served (parameters taken out), after checking ``data`` against ``entry``:
    its size, its sha256, a readable image of sane pixel count, and embedded parameters
    equal to the manifest's. `PackError` says which check failed.

    Example:
        >>> served = check_image_file(pack.entries[0], data)  # doctest: +SKIP
    """
    if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise PackError(
            f"{entry.file} does not match its sha256 in the manifest: the file was changed "
            "or damaged after the pack was made"
        )
    try:
        check_image(data, MAX_IMAGE_PIXELS)
    except ValueError as error:
        raise PackError(f"{entry.file} is refused: {error}") from None
    params = read_params(data) or {}
    expected = entry.to_json()
    wrong = [key for key in _KEYS if params.get(key) != expected[key]]
    if wrong:
        raise PackError(
            f"{entry.file} carries {', '.join(f'{k}={params.get(k)!r}' for k in wrong)} inside "
            f"it, but its manifest line says {', '.join(f'{k}={expected[k]!r}' for k in wrong)}"
        )
    return strip_params(data)


class LessonPack:
    """A read-only set of images that answer the requests they were made for, free.

    Example:
        >>> pack = open_pack("lesson-02.zip")  # doctest: +SKIP
        >>> len(pack), pack.name  # doctest: +SKIP
        (24, 'lesson-02.zip')
    """

    def __init__(
        self, path: Path, entries: Iterable[PackEntry], files: ZipFiles | FolderFiles
    ) -> None:
        self.path = path
        self.entries = tuple(entries)
        self._files = files
        self._by_key = {e.key: e for e in self.entries}

    @property
    def name(self) -> str:
        """The pack's file or folder name, as the status line shows it."""
        return self.path.name

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"LessonPack({str(self.path)!r}, {len(self)} images)"

    def entry_for(self, request: GenerationRequest) -> PackEntry | None:
        """The manifest line for exactly this recipe (`recipe_key`: model, prompt, size and
        concrete seed)."""
        if request.seed_drawn or request.seed < 0:
            return None
        return self._by_key.get(request.key)

    def read(self, entry: PackEntry) -> bytes:
        """The image of ``entry`` as served, checked (see `check_image_file`)."""
        try:
            data = self._files.read(entry.file, min(entry.size, MAX_IMAGE_BYTES))
            return check_image_file(entry, data)
        except (PackError, OSError) as error:  # OSError: the pack was moved or deleted
            raise refused(self.path, error) from None

    def image_for(self, request: GenerationRequest) -> bytes | None:
        """The image bytes for this request (as served), or None if the pack lacks it."""
        entry = self.entry_for(request)
        return self.read(entry) if entry is not None else None

    def stored(self, request: GenerationRequest, *, real_only: bool = False) -> Generation | None:
        """Journal hook (as `Gallery.stored`): the pack's image for exactly this request
        (``real_only``: not if the pack's image is a stand-in).

        Example:
            >>> open_pack("lesson-02.zip").stored(request).from_pack  # doctest: +SKIP
            'lesson-02.zip'
        """
        entry = self.entry_for(request)
        if entry is None or (real_only and entry.simulated):
            return None
        image = self.read(entry)
        prediction = Prediction(
            id=entry.task_id or f"pack-{entry.sha256[:16]}",
            model=entry.model,
            status="completed",
            has_nsfw_contents=(entry.nsfw,),
            timings={"inference": entry.inference_ms} if entry.inference_ms is not None else {},
            created_at=datetime.fromisoformat(entry.created_at) if entry.created_at else None,
        )
        return Generation(
            request,  # the same recipe as the entry's
            prediction,
            image,
            from_gallery=True,
            from_pack=self.name,
            simulated=entry.simulated,
            service=entry.service,
        )

    def verify(self) -> LessonPack:
        """Read and check every image now (`open_pack` checks only the manifest); returns self.

        Example:
            >>> open_pack("lesson-02.zip").verify()  # doctest: +SKIP
            LessonPack('lesson-02.zip', 24 images)
        """
        for entry in self.entries:
            self.read(entry)
        return self


def open_pack(path: str | PathLike[str], *, verify: bool = False) -> LessonPack:
    """Open the lesson pack at ``path`` (a ``.zip`` file or a folder), read-only.

    The manifest, names and sizes are checked now; each image when it is first asked for
    (or all of them now, with ``verify=True``). A bad pack raises `PackError` saying what is
    wrong and what to do.

    Example:
        >>> pack = open_pack("lesson-02.zip", verify=True)  # doctest: +SKIP
    """
    where = Path(path).expanduser().absolute()
    try:
        files = pack_files(where)
        names = set(files.names())
        if MANIFEST_NAME not in names:
            raise PackError(f"it has no {MANIFEST_NAME}; is it a lesson pack?")
        entries = read_manifest(files.read(MANIFEST_NAME, MAX_MANIFEST_BYTES))
        for entry in entries:
            if entry.file not in names:
                raise PackError(f"the manifest lists {entry.file}, which is not in the pack")
            if entry.size > MAX_IMAGE_BYTES:
                raise PackError(f"{entry.file} is larger than {MAX_IMAGE_BYTES:,} bytes")
            if files.declared(entry.file) != entry.size:
                raise PackError(
                    f"the pack declares {files.declared(entry.file):,} bytes for {entry.file} "
                    f"and its manifest line {entry.size:,}"
                )
    except (PackError, OSError) as error:
        raise refused(where, error) from None
    pack = LessonPack(where, entries, files)
    return pack.verify() if verify else pack
