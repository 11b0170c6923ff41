"""Bad lesson packs are refused, each with a message that says what is wrong and what to do.

Every pack here starts as a good one (made on the emulator) and is then spoiled one way.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from klein_widget.client._metadata import embed_params
from klein_widget.store import PackError, _pack_files, make_pack, open_pack
from klein_widget.store._pack_files import safe_member_name
from tests.store.packs import LESSON, images_of, manifest_of, members, rezip, teach, with_manifest

ADVICE = "Ask for a new copy of the pack (or make it again with `klein pack make`)."


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("good")
    teach(where / "teacher")
    make_pack(where / "teacher", where / "lesson.zip")
    return where / "lesson.zip"


@pytest.fixture
def files(good: Path) -> dict[str, bytes]:
    return members(good)


def refused(path: Path, match: str, *, verify: bool = True) -> str:
    with pytest.raises(PackError, match=match) as info:
        open_pack(path, verify=verify)
    return str(info.value)


def test_a_good_pack_opens(good: Path) -> None:
    assert len(open_pack(good, verify=True)) == len(LESSON)


def test_a_changed_image_fails_its_sha256(files: dict[str, bytes], tmp_path: Path) -> None:
    name = next(images_of(files))
    damaged = bytearray(files[name])
    damaged[-20] ^= 0xFF  # one bit flipped inside the image data
    pack = rezip(tmp_path / "p.zip", {**files, name: bytes(damaged)})
    opened = open_pack(pack)  # the manifest is fine: the image is checked when read
    with pytest.raises(PackError, match="does not match its sha256 in the manifest") as info:
        opened.verify()
    assert str(info.value).endswith(ADVICE)


def test_a_wrong_sha256_in_the_manifest(files: dict[str, bytes], tmp_path: Path) -> None:
    manifest = manifest_of(files)
    manifest["images"][0]["sha256"] = hashlib.sha256(b"something else").hexdigest()
    pack = rezip(tmp_path / "p.zip", with_manifest(files, manifest))
    refused(pack, f"{manifest['images'][0]['file']} does not match its sha256")


def test_embedded_parameters_must_match_the_manifest(
    files: dict[str, bytes], tmp_path: Path
) -> None:
    manifest = manifest_of(files)
    line = manifest["images"][0]
    line["seed"] = 99  # the file's hash still matches: only its parameters disagree
    pack = rezip(tmp_path / "p.zip", with_manifest(files, manifest))
    text = refused(pack, "carries seed=1 inside it, but its manifest line says seed=99")
    assert text.endswith(ADVICE)


def test_too_many_pixels_is_refused(files: dict[str, bytes], tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, format="PNG")  # small file, 25 megapixels
    params = {"prompt": "a bomb", "width": 256, "height": 256, "seed": 1}
    data = embed_params(out.getvalue(), {**params, "model": LESSON_MODEL})
    line = {
        **params,
        "model": LESSON_MODEL,
        "file": "images/bomb.png",
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    manifest = manifest_of(files)
    manifest["images"].append(line)
    pack = rezip(tmp_path / "p.zip", {**with_manifest(files, manifest), "images/bomb.png": data})
    refused(pack, r"images/bomb.png is refused: it declares 5000x5000 pixels")


LESSON_MODEL = "wavespeed-ai/flux-2-klein-4b/text-to-image"


def test_a_member_declared_larger_than_an_image_may_be(tmp_path: Path) -> None:
    pack = rezip(tmp_path / "p.zip", {"images/huge.png": bytes(49 << 20)})
    refused(pack, "images/huge.png is larger than 50,331,648 bytes", verify=False)


def test_a_member_that_expands_too_much_is_a_zip_bomb(
    files: dict[str, bytes], tmp_path: Path
) -> None:
    pack = rezip(tmp_path / "p.zip", {**files, "images/zeros.png": bytes(4 << 20)})
    refused(pack, r"images/zeros.png would expand \d+ times \(refused as a zip bomb\)")


def test_the_total_size_is_capped(
    files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = rezip(tmp_path / "p.zip", {**files, "notes.txt": b"lorem ipsum " * 5000})
    monkeypatch.setattr(_pack_files, "MAX_PACK_BYTES", pack.stat().st_size + 1000)
    refused(pack, "its files add up to more than")


def test_the_number_of_files_is_capped(
    files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_pack_files, "MAX_PACK_FILES", 2)
    pack = rezip(tmp_path / "p.zip", files)
    refused(pack, "it holds more than 3 files")


def test_a_zip_that_lies_about_a_size(files: dict[str, bytes], tmp_path: Path) -> None:
    pack = tmp_path / "p.zip"
    with zipfile.ZipFile(pack, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    name = next(images_of(files))
    raw = bytearray(pack.read_bytes())
    # The central directory's "uncompressed size" of that member, made 100 bytes smaller.
    at = raw.index(b"PK\x01\x02")
    while True:
        length = struct.unpack("<H", raw[at + 28 : at + 30])[0]
        if raw[at + 46 : at + 46 + length].decode() == name:
            break
        at = raw.index(b"PK\x01\x02", at + 4)
    size = struct.unpack("<I", raw[at + 24 : at + 28])[0]
    raw[at + 24 : at + 28] = struct.pack("<I", size - 100)
    pack.write_bytes(bytes(raw))
    refused(
        pack, f"the pack declares {size - 100:,} bytes for {name} and its manifest line {size:,}"
    )


@pytest.mark.parametrize(
    "name", ["../evil.png", "/etc/evil.png", "images/../../evil.png", "C:x.png"]
)
def test_zip_members_outside_the_pack(files: dict[str, bytes], tmp_path: Path, name: str) -> None:
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # ZipInfo would clean a leading "/" or "..": a hostile zip does not
        archive.writestr(info, b"x")
    refused(tmp_path / "p.zip", "points outside the pack")


def test_a_manifest_line_outside_the_pack(files: dict[str, bytes], tmp_path: Path) -> None:
    manifest = manifest_of(files)
    manifest["images"][0]["file"] = "../outside.png"
    pack = rezip(tmp_path / "p.zip", with_manifest(files, manifest))
    refused(pack, r"manifest line 1: the name '../outside.png' points outside the pack")


def test_a_symlink_in_a_zip(files: dict[str, bytes], tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        link = zipfile.ZipInfo("images/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    refused(tmp_path / "p.zip", "images/link.png is a symbolic link")


def test_a_symlink_in_a_folder_pack(tmp_path: Path) -> None:
    teach(tmp_path / "teacher")
    make_pack(tmp_path / "teacher", tmp_path / "lesson")
    line = json.loads((tmp_path / "lesson" / "manifest.json").read_text())["images"][0]
    target = tmp_path / "lesson" / line["file"]
    outside = tmp_path / "outside.png"
    outside.write_bytes(target.read_bytes())
    target.unlink()
    os.symlink(outside, target)
    refused(tmp_path / "lesson", f"{line['file']} is \\(or is under\\) a symbolic link")


@pytest.mark.parametrize(
    ("spoil", "match"),
    [
        (lambda f: {"notes.txt": b"hi"}, "it has no manifest.json; is it a lesson pack"),
        (lambda f: {**f, "manifest.json": b"{not json"}, "manifest.json is not valid JSON"),
        (
            lambda f: with_manifest(f, {**manifest_of(f), "version": 2}),
            "it is a version 2 pack and this klein-widget reads version 1: upgrade",
        ),
        (
            lambda f: {k: v for k, v in f.items() if k != next(images_of(f))},
            "the manifest lists images/.* which is not in the pack",
        ),
    ],
)
def test_broken_packs(files: dict[str, bytes], tmp_path: Path, spoil: object, match: str) -> None:
    pack = rezip(tmp_path / "p.zip", spoil(files))  # type: ignore[operator]
    refused(pack, match, verify=False)


def test_not_a_zip_and_not_there(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(b"hello")
    refused(tmp_path / "p.zip", "it is not a readable zip file")
    refused(tmp_path / "nothing.zip", "there is no such file or folder")


def test_a_name_twice_in_the_zip(files: dict[str, bytes], tmp_path: Path) -> None:
    name = next(images_of(files))
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        with pytest.warns(UserWarning, match="Duplicate name"):  # zipfile itself notices
            archive.writestr(name, files[name])
    refused(tmp_path / "p.zip", f"{name} is in the zip twice")


_ROOT = Path(tempfile.gettempdir()) / "pack-root"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./\\:\0 -_")), max_size=12))
def test_an_accepted_member_name_stays_inside_the_pack(name: str) -> None:
    try:
        safe_member_name(name)
    except PackError:
        return
    assert not PurePosixPath(name).is_absolute()
    assert (_ROOT / name).resolve().is_relative_to(_ROOT.resolve())
    assert ".." not in PurePosixPath(name).parts


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.from_regex(r"[a-z0-9_-][a-z0-9._-]{0,8}", fullmatch=True), min_size=1, max_size=4)
)
def test_plain_relative_names_are_accepted(parts: list[str]) -> None:
    name = "/".join(parts)
    if any(p in (".", "..") for p in parts):
        return
    assert safe_member_name(name) == name


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20))
def test_any_member_name_opens_or_is_refused_never_crashes(name: str) -> None:
    """A zip whose manifest names a member ``name``: a clear refusal, or a pack."""
    with tempfile.TemporaryDirectory() as folder:
        pack = Path(folder) / "p.zip"
        line = {
            "file": name,
            "model": LESSON_MODEL,
            "prompt": "a fox",
            "width": 256,
            "height": 256,
            "seed": 1,
            "sha256": "0" * 64,
            "bytes": 1,
        }
        manifest = {"format": "klein-widget lesson pack", "version": 1, "images": [line]}
        with zipfile.ZipFile(pack, "w") as archive:
            archive.writestr("manifest.json", json.dumps(manifest))
            info = zipfile.ZipInfo("x")
            info.filename = name  # as a hostile zip would write it, uncleaned
            archive.writestr(info, b"x")
        try:
            plain = safe_member_name(name) == name
        except PackError:
            plain = False
        if not plain:
            with pytest.raises(PackError, match="points outside the pack"):
                open_pack(pack)
            return
        try:
            opened = open_pack(pack)
        except PackError:  # a plain name may still clash, e.g. a second manifest.json
            return
        with pytest.raises(PackError, match="does not match its sha256"):
            opened.verify()  # and its one byte is no image
