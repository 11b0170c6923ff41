"""Generation parameters inside image files, written and read losslessly at the byte level.

PNG gets an ``iTXt`` chunk right after ``IHDR``; JPEG gets a ``COM`` segment after its APP
headers. Neither re-encodes the picture, so a saved image is the served image plus its
parameters, and any image found on disk can be regenerated.
"""

from __future__ import annotations

import json
import struct
import zlib
from os import PathLike
from pathlib import Path
from typing import Any, Literal

ImageFormat = Literal["png", "jpeg", "webp", "unknown"]

KEYWORD = "klein-widget"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOI = b"\xff\xd8"
_JPEG_PREFIX = KEYWORD.encode() + b":"

__all__ = [
    "ImageFormat",
    "check_image",
    "detect_format",
    "embed_params",
    "emulator_stamped",
    "read_params",
    "strip_params",
]


def detect_format(data: bytes) -> ImageFormat:
    """Tell the image format from its first bytes (servers are not consistent).

    Example:
        >>> detect_format(b"\\xff\\xd8\\xff\\xe0")
        'jpeg'
    """
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(_JPEG_SOI):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "unknown"


def check_image(data: bytes, max_pixels: int) -> ImageFormat:
    """The format of ``data`` if it is an image that decodes, else raise `ValueError` saying why.

    Cheap: a PNG's structure is walked here (IHDR first and sane, every chunk inside the
    file, image data, IEND) without Pillow's CRC pass over the pixels (TCP and TLS already
    guard the bytes in transit); JPEG and WebP go through Pillow's header parse. An image
    declaring more than ``max_pixels`` is refused before anything is decoded.

    Example:
        >>> check_image(b"abc", 100)
        Traceback (most recent call last):
        ...
        ValueError: it is not a PNG, JPEG or WebP file (3 bytes)
    """
    found = detect_format(data)
    if found == "unknown":
        raise ValueError(f"it is not a PNG, JPEG or WebP file ({len(data)} bytes)")
    if found == "png":
        why = _png_problem(data, max_pixels)
        if why is not None:
            raise ValueError(f"it does not decode as PNG ({why})")
        return found
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            _check_pixels(width, height, max_pixels)
            image.verify()
    except ValueError:
        raise
    except Exception as error:  # Pillow raises many kinds for a broken file
        reason = "" if "cannot identify" in str(error) else f" ({error})"
        raise ValueError(f"it does not decode as {found.upper()}{reason}") from None
    return found


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ValueError(
            f"it declares {width}x{height} pixels, far more than this model makes "
            "(refused as a decompression bomb)"
        )


# PNG colour types and the bit depths each allows (the PNG specification, table 11.1).
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


def _png_problem(data: bytes, max_pixels: int) -> str | None:
    """Why ``data`` (with a PNG signature) is not a whole PNG, or None if its structure holds.

    A header declaring more than ``max_pixels`` raises at once, before the rest is read.
    """
    pos, size, seen_data = len(_PNG_SIGNATURE), len(data), False
    if size < 33 or data[12:16] != b"IHDR" or data[8:12] != b"\0\0\0\r":
        return "no IHDR header first"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    _check_pixels(width, height, max_pixels)
    if width == 0 or height == 0 or depth not in _PNG_DEPTHS.get(colour, ()):
        return f"an impossible header: {width}x{height}, depth {depth}, colour type {colour}"
    while pos + 12 <= size:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > size:
            return f"chunk {kind!r} runs past the end of the file"
        if not kind.isalpha():
            return f"a chunk type that is not a name: {kind!r}"
        if kind == b"IEND":
            return None if seen_data else "no image data"
        seen_data = seen_data or kind == b"IDAT"
        pos = end
    return "it is cut short (no IEND)"


# The local emulator's stand-ins carry this PNG text chunk (emulator/_render.py writes it).
_EMULATOR_STAMP = b"Software\0klein-widget emulator"


def emulator_stamped(data: bytes) -> bool:
    """True if ``data`` is a PNG the local emulator drew (its ``Software`` stamp): how an
    image stored before provenance was recorded is still known to be a stand-in.

    Example:
        >>> emulator_stamped(b"not an image")
        False
    """
    if detect_format(data) != "png":
        return False
    return any(
        kind == b"tEXt" and payload.startswith(_EMULATOR_STAMP)
        for kind, payload, _, _ in _png_chunks(data)
    )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes, int, int]]:
    """(type, payload, start, end) of each chunk."""
    chunks = []
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        # Only small chunks can be ours: no copy of the image data.
        payload = data[pos + 8 : pos + 8 + length] if kind != b"IDAT" else b""
        chunks.append((kind, payload, pos, end))
        if kind == b"IEND":
            break
        pos = end
    return chunks


def _is_ours_png(kind: bytes, payload: bytes) -> bool:
    return kind == b"iTXt" and payload.startswith(KEYWORD.encode() + b"\0")


def _jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each header segment up to the start of scan."""
    segments = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: image data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append((marker, pos, pos + 2 + length))
        pos += 2 + length
    return segments


def embed_params(data: bytes, params: dict[str, Any]) -> bytes:
    """Return the image bytes with ``params`` embedded (replacing earlier ones).

    Formats other than PNG and JPEG come back unchanged; callers keep a sidecar then.
    """
    text = json.dumps(params, ensure_ascii=False, sort_keys=True).encode()
    fmt = detect_format(data)
    if fmt == "png":
        chunks = [c for c in _png_chunks(data) if not _is_ours_png(c[0], c[1])]
        ours = _png_chunk(b"iTXt", KEYWORD.encode() + b"\0\0\0\0\0" + text)
        view = memoryview(data)  # one copy of the image data, in the join, not three
        head = [view[: len(_PNG_SIGNATURE)], view[chunks[0][2] : chunks[0][3]]]  # IHDR first
        return b"".join([*head, ours, *(view[start:end] for _, _, start, end in chunks[1:])])
    if fmt == "jpeg":
        comment = _JPEG_PREFIX + text
        if len(comment) > 65533:  # a COM segment holds at most 64 KiB
            return data
        segments = _jpeg_segments(data)
        scan = data[segments[-1][2] :] if segments else data[2:]
        kept = [
            data[s:e]
            for m, s, e in segments
            if not (m == 0xFE and data[s + 4 : e].startswith(_JPEG_PREFIX))
        ]
        # JFIF/EXIF APPn segments must stay first; our comment goes right after them.
        n_app = sum(1 for m, _, _ in segments if 0xE0 <= m <= 0xEF)
        ours = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
        return _JPEG_SOI + b"".join(kept[:n_app]) + ours + b"".join(kept[n_app:]) + scan
    return data


def strip_params(data: bytes) -> bytes:
    """The image as it was served: `embed_params` undone, byte for byte.

    Example:
        >>> served = b"\xff\xd8\xff\xda" + b"scan"
        >>> strip_params(embed_params(served, {"seed": 1})) == served
        True
    """
    fmt = detect_format(data)
    if fmt == "png":
        for kind, payload, start, end in _png_chunks(data):
            if _is_ours_png(kind, payload):
                return data[:start] + data[end:]
    elif fmt == "jpeg":
        for marker, start, end in _jpeg_segments(data):
            if marker == 0xFE and data[start + 4 : end].startswith(_JPEG_PREFIX):
                return data[:start] + data[end:]
    return data


def read_params(source: bytes | str | PathLike[str]) -> dict[str, Any] | None:
    """Read the parameters embedded by `embed_params`, or None if there are none.

    Example:
        >>> read_params(b"not an image") is None
        True
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    fmt = detect_format(data)
    raw: bytes | None = None
    if fmt == "png":
        for kind, payload, _, _ in _png_chunks(data):
            if _is_ours_png(kind, payload):
                raw = payload[len(KEYWORD) + 5 :]
                break
    elif fmt == "jpeg":
        for marker, start, end in _jpeg_segments(data):
            segment = data[start + 4 : end]
            if marker == 0xFE and segment.startswith(_JPEG_PREFIX):
                raw = segment[len(_JPEG_PREFIX) :]
                break
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None
