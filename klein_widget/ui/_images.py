"""Thumbnails for every door: one function, one bounded cache, no decompression bombs.

The panel's history strip, ``history()``'s table and the grids of ``compare()`` and
``%klein -n`` all call `thumbnail` (or `thumbnail_uri`). Thumbnails are JPEGs scaled down
(never up) to ``side`` pixels on the long side, cached by content hash, side and blur in
one least-recently-used cache of `CACHE_LIMIT` entries, so a live grid or a long history
re-renders without decoding again.

Whatever the bytes are, the result is a thumbnail or a `ThumbnailError` that says why
not: an image larger than Pillow's ``Image.MAX_IMAGE_PIXELS`` (a possible decompression
bomb) is refused before it is decoded, and bytes that are no image are named as such.
Callers show `placeholder` or the message instead, so one bad file never breaks a view.

Example:
    >>> data = placeholder(64)  # any image's bytes
    >>> thumb = thumbnail(data, 32)
    >>> thumb[:2] == b"\\xff\\xd8" and thumbnail(data, 32) is thumb  # a JPEG, cached
    True
    >>> thumbnail(b"not an image")
    Traceback (most recent call last):
    ...
    klein_widget.ui._images.ThumbnailError: cannot show this image: it is not an image file \
Pillow can read (12 bytes)
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import warnings
from collections import OrderedDict
from typing import TYPE_CHECKING

from klein_widget.client._generation import Generation

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "CACHE_LIMIT",
    "THUMBNAIL_SIDE",
    "ThumbnailError",
    "placeholder",
    "thumbnail",
    "thumbnail_uri",
]

THUMBNAIL_SIDE = 96  # px, long side: the panel's history strip and history()'s table
CACHE_LIMIT = 512  # thumbnails kept (about 3 KB each at 96 px, 15 KB at 256 px)
_JPEG_QUALITY = 80

_CACHE: OrderedDict[tuple[bytes, int, bool], bytes] = OrderedDict()
_CACHE_LOCK = threading.Lock()


class ThumbnailError(ValueError):
    """The bytes cannot be shown as a thumbnail; the message says why, in words."""


def _decode(data: bytes, side: int) -> PILImage:
    """The image, decoded in RGB (at reduced size where the format allows it)."""
    from PIL import Image, UnidentifiedImageError

    # Pillow warns between MAX_IMAGE_PIXELS and twice that, and raises beyond: refuse both.
    # Decoders of untrusted bytes raise many kinds of errors (truncated data, bad chunks,
    # struct errors): each means the same thing here, so each becomes a ThumbnailError.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = Image.MAX_IMAGE_PIXELS or 0
        raise ThumbnailError(
            f"cannot show this image: it has more than {limit / 1e6:.0f} million pixels "
            "(Pillow's Image.MAX_IMAGE_PIXELS), so it is refused as a possible "
            "decompression bomb"
        ) from None
    except UnidentifiedImageError:
        raise ThumbnailError(
            f"cannot show this image: it is not an image file Pillow can read ({len(data)} bytes)"
        ) from None
    except Exception as error:
        raise _damaged(error) from None
    try:
        with source:
            source.draft("RGB", (side * 2, side * 2))  # JPEG decodes at reduced size: faster
            return source.convert("RGB")
    except Exception as error:
        raise _damaged(error) from None


def _damaged(error: Exception) -> ThumbnailError:
    return ThumbnailError(f"cannot show this image: it is damaged ({error})")


def _make(data: bytes, side: int, blur: bool) -> bytes:
    from PIL import ImageFilter

    picture = _decode(data, side)
    picture.thumbnail((side, side))
    if blur:
        picture = picture.filter(ImageFilter.GaussianBlur(side / 6))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=_JPEG_QUALITY)
    return out.getvalue()


def thumbnail(
    source: Generation | bytes, side: int = THUMBNAIL_SIDE, *, blur: bool = False
) -> bytes:
    """A JPEG of ``source`` (a `Generation` or image bytes), ``side`` px on its long side.

    Never scaled up; blurred beyond recognition if ``blur`` (for images flagged NSFW).
    Cached; raises `ThumbnailError` for what cannot be shown (see the module docstring).

    Example:
        >>> len(thumbnail(gen, 256)) < 20_000  # doctest: +SKIP
        True
    """
    if isinstance(side, bool) or not isinstance(side, int) or side < 1:
        raise ValueError(f"side must be a whole number of pixels, at least 1, not {side!r}")
    data = source.image if isinstance(source, Generation) else source
    key = (hashlib.blake2b(data, digest_size=16).digest(), side, blur)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    made = _make(data, side, blur)
    with _CACHE_LOCK:
        made = _CACHE.setdefault(key, made)  # another thread may have made it meanwhile
        while len(_CACHE) > CACHE_LIMIT:
            _CACHE.popitem(last=False)
    return made


def thumbnail_uri(
    source: Generation | bytes, side: int = THUMBNAIL_SIDE, *, blur: bool = False
) -> str:
    """`thumbnail` as a ``data:image/jpeg;base64,...`` URI, for HTML."""
    return "data:image/jpeg;base64," + base64.b64encode(thumbnail(source, side, blur=blur)).decode(
        "ascii"
    )


def placeholder(side: int = THUMBNAIL_SIDE) -> bytes:
    """A plain grey square JPEG, ``side`` px: what stands in for an image that cannot be shown."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (side, side), (160, 160, 160)).save(out, format="JPEG")
    return out.getvalue()
