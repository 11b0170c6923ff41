"""An edit's reference images, read and checked before anything is sent: `to_references`.

A reference is given as a file path (``str`` or ``PathLike``), ``bytes``, a PIL image
(encoded to PNG), a `Generation` (its image), a gallery entry (its file) or an
``http(s)`` URL string (passed through as it is). Each becomes a `Reference`: the bytes
(or the URL), a neutral ``filename`` such as ``"reference-1.png"`` (the name sent in the
upload ticket, so a local path never leaves the machine), the content type, the sha256 of
the bytes (of the URL text for a URL: what the recipe keys an edit by) and the picture's
size (read from its header, nothing decoded).

Every refusal is an `InvalidRequestError` with ``field="images"`` that says what to do:
no image, more than `MAX_REFERENCES`, a missing or unreadable file, something that is
not a PNG, JPEG or WebP, a file over WaveSpeed's 200 MB upload limit.

Example:
    >>> to_references([b"not an image"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    klein_widget.client._exceptions.InvalidRequestError: images[0] is not an image: ...
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from klein_widget.client._constants import MAX_IMAGE_PIXELS
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import MAX_REFERENCES
from klein_widget.client._family_inputs import url_sha256
from klein_widget.client._metadata import check_image

__all__ = ["WAVESPEED_UPLOAD_LIMIT", "Reference", "header_size", "to_references"]

WAVESPEED_UPLOAD_LIMIT = 200 << 20  # "200 MB": the official SDK's check (200 * 1024 * 1024)
# What a reference may be, said once for every refusal.
_KINDS = "a PNG, JPEG or WebP file, its bytes, a PIL image, a Generation or an http(s) URL"
_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_NAME_SUFFIXES = {"png": "png", "jpeg": "jpg", "webp": "webp"}


@dataclass(frozen=True)
class Reference:
    """One reference image of an edit: bytes to upload, or a URL to pass through.

    Example:
        >>> ref = to_references(["https://example.com/cat.png"])[0]
        >>> ref.url, ref.data, ref.filename
        ('https://example.com/cat.png', None, 'reference-1')
    """

    url: str | None
    """The URL the user gave (sent as it is), or None for local bytes (uploaded)."""
    data: bytes | None = field(repr=False)
    """The image's bytes, or None for a URL."""
    filename: str
    """The name sent with the upload: ``reference-N.<ext>``, never a local path."""
    content_type: str | None
    """``image/png``, ``image/jpeg`` or ``image/webp``; None for a URL (not read here)."""
    sha256: str
    """The sha256 hex of the bytes (of the URL text for a URL): the recipe's key for it."""
    size: tuple[int, int] | None
    """(width, height) from the image's header; None for a URL."""

    @property
    def uploaded(self) -> bool:
        """True if this reference must be uploaded (local bytes), False for a URL."""
        return self.url is None


def to_references(images: Any) -> tuple[Reference, ...]:
    """The references of an edit, each read and checked; raise before anything is sent.

    ``images``: 1 to `MAX_REFERENCES` of a file path, ``bytes``, a PIL image, a
    `Generation`, a gallery entry or an ``http(s)`` URL (one of them alone is one image).

    Example:
        >>> [r.filename for r in to_references(["https://example.com/cat.png"])]
        ['reference-1']
    """
    items = _as_list(images)
    if not items:
        raise _refuse(f"images is empty: give 1 to {MAX_REFERENCES} reference images ({_KINDS}).")
    if len(items) > MAX_REFERENCES:
        raise _refuse(
            f"images has {len(items)} images; an edit takes at most {MAX_REFERENCES}: "
            "combine some into one picture, or leave some out."
        )
    return tuple(_reference(item, i) for i, item in enumerate(items))


def _refuse(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, field="images")


def _as_list(images: Any) -> list[Any]:
    """The images as a list; a single one (a path, bytes, a picture) counts as one."""
    if images is None:
        return []
    if isinstance(images, str | bytes | bytearray | memoryview | os.PathLike):
        return [images]
    if isinstance(images, list | tuple):
        return list(images)
    if isinstance(images, Iterable) and not _is_pil(images):
        return list(images)
    return [images]


def _is_pil(value: object) -> bool:
    # Pillow is not imported for this: a PIL image can only exist if it is loaded already.
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(value, pil.Image)


def _reference(item: object, i: int) -> Reference:
    where = f"images[{i}]"
    if isinstance(item, str) and item.strip().lower().startswith(("http://", "https://")):
        return _url_reference(item.strip(), i, where)
    if isinstance(item, str | os.PathLike):
        data = _read_file(Path(item), where)
    elif isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
    elif _is_pil(item):
        data = _png_of(item, where)
    elif isinstance(getattr(item, "image", None), bytes):  # a Generation
        data = item.image  # type: ignore[attr-defined]
    elif hasattr(item, "path") and hasattr(item, "task_id"):  # a gallery entry
        data = _entry_file(item, where)
    else:
        raise _refuse(f"{where} is a {type(item).__name__}; give {_KINDS}.")
    return _local_reference(data, i, where)


def _url_reference(url: str, i: int, where: str) -> Reference:
    parts = urlsplit(url)
    if not parts.hostname or any(c.isspace() for c in url):
        raise _refuse(f"{where} is not a usable URL: {url[:120]!r}; give a full http(s) URL.")
    return Reference(url, None, f"reference-{i + 1}", None, url_sha256(url), None)


def _read_file(path: Path, where: str) -> bytes:
    """A local file's bytes (the path is named in the error: it stays on this machine)."""
    if str(path).startswith(("data:", "ftp:", "file:")):
        raise _refuse(f"{where} is a {str(path)[:5]} URL; give a file path or an http(s) URL.")
    path = path.expanduser()
    try:
        stat = path.stat()
        if not path.is_file():
            raise _refuse(f"{where}: {str(path)!r} is not a file; give an image file.")
        _check_length(stat.st_size, where)
        return path.read_bytes()
    except OSError as error:
        why = "there is no such file" if isinstance(error, FileNotFoundError) else error.strerror
        raise _refuse(
            f"{where}: cannot read {str(path)!r} ({why}); check the path, or pass the bytes."
        ) from None


def _entry_file(entry: Any, where: str) -> bytes:
    path = entry.path
    if path is None:
        status = getattr(entry, "status", "unknown")
        raise _refuse(
            f"{where}: gallery entry {entry.task_id!r} has no image file (status {status!r}); "
            "pick a completed one."
        )
    return _read_file(Path(path), where)


def _png_of(picture: Any, where: str) -> bytes:
    """A PIL image encoded to PNG (CMYK and other modes PNG lacks go through RGB)."""
    out = io.BytesIO()
    try:
        if picture.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            picture = picture.convert("RGBA" if "A" in picture.mode else "RGB")
        picture.save(out, format="PNG")
    except (OSError, ValueError) as error:
        raise _refuse(f"{where}: this PIL image cannot be saved as PNG ({error}).") from None
    return out.getvalue()


def _check_length(length: int, where: str) -> None:
    if length == 0:
        raise _refuse(f"{where} is empty (0 bytes); give an image file.")
    if length > WAVESPEED_UPLOAD_LIMIT:
        raise _refuse(
            f"{where} is {length / 2**20:.0f} MB; WaveSpeed takes files up to "
            f"{WAVESPEED_UPLOAD_LIMIT >> 20} MB: save it smaller (JPEG, or fewer pixels)."
        )


def _local_reference(data: bytes, i: int, where: str) -> Reference:
    _check_length(len(data), where)
    try:
        found = check_image(data, MAX_IMAGE_PIXELS)
    except ValueError as error:
        raise _refuse(f"{where} is not an image: {error}. Give {_KINDS}.") from None
    size = header_size(data)
    return Reference(
        url=None,
        data=data,
        filename=f"reference-{i + 1}.{_NAME_SUFFIXES[found]}",
        content_type=_CONTENT_TYPES[found],
        sha256=hashlib.sha256(data).hexdigest(),
        size=size,
    )


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from image bytes' header alone (Pillow reads it lazily, decoding
    nothing), or None if they are no image: a size is a convenience, not a check."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
    except Exception:  # a size is a convenience: whatever Pillow cannot open has none
        return None
    return (int(width), int(height))
