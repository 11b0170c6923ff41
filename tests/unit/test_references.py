"""An edit's references (`client/_references.py`): every kind of input read, hashed and
named neutrally, and every bad one refused with ``field="images"`` before anything is sent."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._references import WAVESPEED_UPLOAD_LIMIT, Reference, to_references
from klein_widget.client._upload_answers import price_mills


def encoded(kind: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 60) if mode == "RGB" else None).save(out, format=kind)
    return out.getvalue()


PNG = encoded("PNG")


def one(image: object) -> Reference:
    refs = to_references([image])
    assert len(refs) == 1
    return refs[0]


def refused(images: object) -> str:
    with pytest.raises(InvalidRequestError) as info:
        to_references(images)
    assert info.value.field == "images"
    return info.value.message


@pytest.mark.parametrize(
    ("kind", "content_type", "suffix"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")],
)
def test_bytes_of_each_format(kind: str, content_type: str, suffix: str) -> None:
    data = encoded(kind, (64, 48))
    ref = one(data)
    assert ref.url is None
    assert ref.uploaded
    assert ref.data == data
    assert (ref.content_type, ref.filename, ref.size) == (
        content_type,
        f"reference-1.{suffix}",
        (64, 48),
    )
    assert ref.sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_path_is_read_and_never_named(tmp_path: Path) -> None:
    private = tmp_path / "my private holiday" / "IMG_0042 secret.png"
    private.parent.mkdir()
    private.write_bytes(PNG)
    for given in (private, str(private)):
        ref = one(given)
        assert ref.data == PNG
        assert ref.filename == "reference-1.png"
        assert "secret" not in repr(ref)
        assert "holiday" not in repr(ref)


def test_urls_pass_through_hashed_by_their_text() -> None:
    url = "https://cdn.example.com/cat.png?sig=1"
    ref = one(url)
    assert (ref.url, ref.data, ref.content_type, ref.size) == (url, None, None, None)
    assert not ref.uploaded
    assert ref.sha256 == hashlib.sha256(url.encode()).hexdigest()
    assert one("HTTP://example.com/a.png").url == "HTTP://example.com/a.png"


def test_pil_images_become_png_whatever_their_mode() -> None:
    for mode in ("RGB", "RGBA", "L", "P", "CMYK"):
        ref = one(Image.new(mode, (33, 21)))
        assert ref.content_type == "image/png"
        assert ref.size == (33, 21)
        assert ref.data is not None
        assert Image.open(io.BytesIO(ref.data)).size == (33, 21)


def test_a_generation_and_a_gallery_entry_are_read_by_their_image(tmp_path: Path) -> None:
    generation = SimpleNamespace(image=PNG, request=None)  # what a Generation offers
    assert one(generation).data == PNG
    stored = tmp_path / "fox.png"
    stored.write_bytes(encoded("JPEG"))
    entry = SimpleNamespace(task_id="t1", status="completed", path=stored)
    assert one(entry).content_type == "image/jpeg"
    waiting = SimpleNamespace(task_id="t2", status="submitted", path=None)
    assert "no image file (status 'submitted')" in refused([waiting])


def test_order_hashes_and_numbering_of_several() -> None:
    other = encoded("PNG", (50, 50))
    refs = to_references((PNG, "https://x.example/a.png", other, PNG))
    assert [r.filename for r in refs] == [
        "reference-1.png",
        "reference-2",
        "reference-3.png",
        "reference-4.png",
    ]
    assert refs[0].sha256 == refs[3].sha256 != refs[2].sha256


def test_a_single_image_counts_as_one() -> None:
    assert len(to_references(PNG)) == 1
    assert len(to_references("https://x.example/a.png")) == 1
    assert len(to_references(Image.new("RGB", (8, 8)))) == 1
    assert len(to_references(iter([PNG, PNG]))) == 2


def test_none_or_more_than_four_are_refused() -> None:
    assert "images is empty: give 1 to 4" in refused([])
    assert "images is empty" in refused(None)
    assert "at most 4" in refused([PNG] * 5)


@pytest.mark.parametrize(
    ("image", "says"),
    [
        (b"", "is empty (0 bytes)"),
        (b"GIF89a....", "is not an image: it is not a PNG, JPEG or WebP file"),
        (PNG[: len(PNG) // 2], "is not an image: it does not decode as PNG"),
        (b"\xff\xd8\xff\xe0 not really", "is not an image: it does not decode as JPEG"),
        (42, "images[0] is a int; give a PNG, JPEG or WebP file"),
        ("data:image/png;base64,AAAA", "is a data: URL; give a file path or an http(s) URL"),
        ("https://", "is not a usable URL"),
        ("https://exa mple.com/a.png", "is not a usable URL"),
    ],
)
def test_bad_images_are_refused_saying_what_to_do(image: object, says: str) -> None:
    assert says in refused([image])


def test_missing_files_and_folders_are_refused(tmp_path: Path) -> None:
    assert "there is no such file" in refused([tmp_path / "nope.png"])
    assert "is not a file" in refused([tmp_path])
    assert "images[1]" in refused([PNG, str(tmp_path / "gone.jpg")])


def test_a_file_over_the_upload_limit_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as f:  # sparse: no disk used, and it is never read
        f.truncate(WAVESPEED_UPLOAD_LIMIT + 1)
    assert "WaveSpeed takes files up to 200 MB" in refused([huge])


@pytest.mark.parametrize(
    ("data", "mills"),
    [
        (0.012, 12),
        ("0.016", 16),
        ({"price": 0.008}, 8),
        ({"unit_price": "$0.0104"}, 11),
        ({"price": {"amount": 0.01}}, 10),
        ({"price_mills": 9, "unit_price": 0.5}, 9),
        ({"total_price": 0.02, "currency": "USD"}, 20),
        ({"price_mills": 16, "unit_price": 0.016, "price_confirmed": False}, None),
        ({"price": 8}, None),  # 8 dollars an image: another unit, not guessed
        ({"price": 0}, None),
        ({"price": True}, None),
        ({"price": "free"}, None),
        ({"price": float("nan")}, None),
        ({"cost": {"value": 0.01}}, None),
        ([0.01], None),
        ({}, None),
        (None, None),
    ],
)
def test_price_answers_are_read_defensively(data: object, mills: int | None) -> None:
    assert price_mills(data) == mills
