"""Reading a lesson pack's files safely: a zip or a folder, never extracted, always bounded.

A pack comes from someone else (a teacher, a download), so every name and size in it is
checked before anything is read: no absolute paths, no ``..``, no symlinks, no duplicate
names, at most `MAX_PACK_FILES` files and `MAX_PACK_BYTES` in all, each file at most
`MAX_IMAGE_BYTES` (the client's cap for one image), and a member is read with a limit so
a size that lies in the zip's directory cannot make it larger.

Example:
    >>> safe_member_name("images/fox.png")
    'images/fox.png'
    >>> safe_member_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    klein_widget.store._pack_files.PackError: the name '../etc/passwd' points outside the pack
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path

from klein_widget.client._constants import MAX_IMAGE_BYTES
from klein_widget.client._exceptions import KleinError

__all__ = [
    "MANIFEST_NAME",
    "MAX_MANIFEST_BYTES",
    "MAX_PACK_BYTES",
    "MAX_PACK_FILES",
    "MAX_RATIO",
    "FolderFiles",
    "PackError",
    "ZipFiles",
    "pack_files",
    "safe_member_name",
]

MANIFEST_NAME = "manifest.json"
MAX_PACK_FILES = 5000  # images in one pack: a course, not a dataset
MAX_PACK_BYTES = 2 << 30  # all of a pack's files together, uncompressed
MAX_MANIFEST_BYTES = 8 << 20  # ~40,000 manifest lines: far above MAX_PACK_FILES
MAX_RATIO = 100  # uncompressed/compressed: PNG and JPEG barely deflate; a bomb does


class PackError(KleinError, ValueError):
    """A lesson pack that cannot be used: the message says what is wrong and what to do.

    Example:
        >>> str(PackError("the manifest is missing"))
        'the manifest is missing'
    """


def safe_member_name(name: str) -> str:
    """``name`` if it is a plain relative path inside the pack, else raise `PackError`.

    Example:
        >>> safe_member_name("2026-11-24/fox.png")
        '2026-11-24/fox.png'
    """
    if (
        not name
        or "\\" in name
        or "\0" in name
        or name.startswith("/")  # absolute
        or (len(name) > 1 and name[1] == ":")  # C:... on Windows
        or any(part in ("..", ".", "") for part in name.split("/"))
    ):
        raise PackError(f"the name {name!r} points outside the pack")
    return name


def _too_large(name: str, limit: int) -> PackError:
    return PackError(f"{name} is larger than {limit:,} bytes, the most a pack file may be")


class ZipFiles:
    """A zip pack: its directory checked once, members read on demand (never to disk).

    Example:
        >>> ZipFiles(Path("lesson-02.zip")).names()  # doctest: +SKIP
        ['images/a-red-fox-768x512-42.png', 'manifest.json']
    """

    def __init__(self, where: Path) -> None:
        self.where = where
        if where.stat().st_size > MAX_PACK_BYTES:
            raise PackError(f"the file is larger than {MAX_PACK_BYTES:,} bytes")
        try:
            with zipfile.ZipFile(where) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, ValueError, IndexError, EOFError) as error:
            raise PackError(f"it is not a readable zip file ({error})") from None
        self._sizes: dict[str, int] = {}
        total = 0
        for info in infos:
            if info.filename.endswith("/"):  # a folder entry: nothing to read
                continue
            name = safe_member_name(info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise PackError(f"{name} is a symbolic link; a pack holds only plain files")
            if name in self._sizes:
                raise PackError(f"{name} is in the zip twice")
            if len(self._sizes) >= MAX_PACK_FILES + 1:
                raise PackError(f"it holds more than {MAX_PACK_FILES + 1:,} files")
            limit = MAX_MANIFEST_BYTES if name == MANIFEST_NAME else MAX_IMAGE_BYTES
            if info.file_size > limit:
                raise _too_large(name, limit)
            if info.file_size > MAX_RATIO * max(info.compress_size, 1024):
                raise PackError(
                    f"{name} would expand {info.file_size // max(info.compress_size, 1)} times "
                    "(refused as a zip bomb)"
                )
            total += info.file_size
            if total > MAX_PACK_BYTES:
                raise PackError(f"its files add up to more than {MAX_PACK_BYTES:,} bytes")
            self._sizes[name] = info.file_size

    def names(self) -> list[str]:
        """Every file's name."""
        return sorted(self._sizes)

    def declared(self, name: str) -> int:
        """The uncompressed size the zip's directory declares for ``name``."""
        return self._sizes[name]

    def read(self, name: str, limit: int) -> bytes:
        """One member's bytes, at most ``limit`` (and at most what the directory declared)."""
        if name not in self._sizes:
            raise PackError(f"{name} is not in the zip")
        declared = self._sizes[name]
        if declared > limit:
            raise _too_large(name, limit)
        try:
            with zipfile.ZipFile(self.where) as archive, archive.open(name) as member:
                data = member.read(declared + 1)
        # A bad CRC, a truncated file, an encrypted member, an unknown compression method.
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError) as error:
            raise PackError(f"{name} cannot be read from the zip ({error})") from None
        if len(data) != declared:
            raise PackError(
                f"{name} holds {len(data):,}+ bytes where the zip declares {declared:,}"
            )
        return data


class FolderFiles:
    """A folder pack: plain files under one folder; symbolic links are refused.

    Example:
        >>> FolderFiles(Path("lesson-02")).names()  # doctest: +SKIP
        ['images/a-red-fox-768x512-42.png', 'manifest.json']
    """

    def __init__(self, where: Path) -> None:
        self.where = where
        self._root = where.resolve()

    def _path(self, name: str) -> Path:
        safe_member_name(name)
        path = self.where
        for part in name.split("/"):
            path = path / part
            if path.is_symlink():
                raise PackError(
                    f"{name} is (or is under) a symbolic link; a pack holds plain files"
                )
        if not path.resolve().is_relative_to(self._root):
            raise PackError(f"the name {name!r} points outside the pack")
        return path

    def names(self) -> list[str]:
        """Every plain file's name below the folder (at most `MAX_PACK_FILES` + 1)."""
        found = []
        for path in sorted(self.where.rglob("*")):
            if path.is_symlink() or path.is_file():
                found.append(path.relative_to(self.where).as_posix())
            if len(found) > MAX_PACK_FILES + 1:
                raise PackError(f"it holds more than {MAX_PACK_FILES + 1:,} files")
        return found

    def declared(self, name: str) -> int:
        """The file's size on disk."""
        return self._path(name).stat().st_size

    def read(self, name: str, limit: int) -> bytes:
        """One file's bytes, at most ``limit``."""
        path = self._path(name)
        try:
            with open(path, "rb") as file:
                if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                    raise PackError(f"{name} is not a plain file")
                data = file.read(limit + 1)
        except FileNotFoundError:
            raise PackError(f"{name} is not in the folder") from None
        except IsADirectoryError:
            raise PackError(f"{name} is a folder, not a file") from None
        if len(data) > limit:
            raise _too_large(name, limit)
        return data


def pack_files(where: Path) -> ZipFiles | FolderFiles:
    """The files of the pack at ``where``: a zip file or a folder.

    Example:
        >>> pack_files(Path("lesson-02.zip"))  # doctest: +SKIP
    """
    if where.is_dir():
        return FolderFiles(where)
    if not where.exists():
        raise PackError("there is no such file or folder")
    return ZipFiles(where)
