"""One thumbnail function and one bounded cache for every view, safe against bad bytes.

The grid (compare, %klein -n), history() and the panel's strip all use
`klein_widget.ui._images.thumbnail`; a decompression bomb or a file that is no image
shows as a message or a grey placeholder, never as a crash of the view.
"""

from __future__ import annotations

import dataclasses
import io
import re
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from klein_widget import KleinClient, history
from klein_widget.ui import _images
from klein_widget.ui._grid import render_grid
from klein_widget.ui._images import (
    THUMBNAIL_SIDE,
    ThumbnailError,
    placeholder,
    thumbnail,
    thumbnail_uri,
)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("RGB", (1, 1)).save(out, format="PNG")
    data = out.getvalue()
    ihdr = struct.pack(">II", width, height) + data[24:29]
    chunk = b"IHDR" + ihdr
    return (
        data[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + data[33:]
    )


def size_of(jpeg: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        return image.size


def test_thumbnails_are_cached_by_content_and_never_scaled_up(client: KleinClient) -> None:
    gen = client.generate("a teal sea", width=256, height=512, seed=9)
    first = thumbnail(gen, 128)
    assert thumbnail(gen.image, 128) is first  # same bytes, same side: from the cache
    assert thumbnail(bytes(gen.image), 128) is first  # keyed by content, not identity
    assert size_of(first) == (64, 128)
    assert size_of(thumbnail(gen, 1024)) == (256, 512)  # never scaled up
    assert size_of(thumbnail(gen)) == (THUMBNAIL_SIDE // 2, THUMBNAIL_SIDE)
    assert thumbnail(gen, 128, blur=True) != first
    assert thumbnail_uri(gen, 128).startswith("data:image/jpeg;base64,/9j/")
    with pytest.raises(ValueError, match="at least 1"):
        thumbnail(gen, 0)


def test_the_cache_is_bounded_and_least_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_images, "CACHE_LIMIT", 3)
    monkeypatch.setattr(_images, "_CACHE", type(_images._CACHE)())
    images = [placeholder(16 + i) for i in range(5)]
    made = [thumbnail(image, 8) for image in images[:3]]
    assert thumbnail(images[0], 8) is made[0]  # now the most recently used
    thumbnail(images[3], 8)  # evicts images[1], the least recently used
    assert len(_images._CACHE) == 3
    assert thumbnail(images[0], 8) is made[0]
    assert thumbnail(images[1], 8) is not made[1]  # made again


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (png_claiming(20_000, 20_000), "decompression bomb"),  # over twice Pillow's limit
        (png_claiming(10_000, 10_000), "decompression bomb"),  # over it (Pillow only warns)
        (b"not an image at all", "not an image file Pillow can read (19 bytes)"),
        (placeholder(64)[:200], "damaged"),
    ],
)
def test_bad_bytes_are_a_clear_error(data: bytes, words: str) -> None:
    with pytest.raises(ThumbnailError, match=re.escape(words)) as caught:
        thumbnail(data)
    assert str(caught.value).startswith("cannot show this image: ")


def test_a_bomb_is_refused_before_it_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    bombs = [png_claiming(20_000, 20_000), png_claiming(10_000, 10_000)]
    decoded: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    for bomb in bombs:
        with pytest.raises(ThumbnailError):
            thumbnail(bomb)
    assert decoded == []


def test_views_show_bad_images_without_failing(client: KleinClient) -> None:
    good = client.generate("a fox", width=256, height=256, seed=1)
    bomb = client.generate("a bomb", width=256, height=256, seed=2)
    assert bomb.path is not None
    bomb.path.write_bytes(png_claiming(20_000, 20_000))
    bad = dataclasses.replace(bomb, image=png_claiming(20_000, 20_000))

    grid = render_grid([[good, bad]])
    assert grid.count("<img ") == 1
    assert "refused as a possible decompression bomb" in grid
    assert "seed 2</figcaption>" in grid  # the cell is still there, captioned

    page = history()._repr_html_()
    assert page.count('<img src="data:image/jpeg;base64,') == 1
    assert "cannot show the image" in page
