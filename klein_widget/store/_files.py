"""The gallery's image files: written once per task, found again by their embedded parameters.

Every file carries its generation parameters (prompt, size, seed, model, task id) inside
it, so the files alone are the truth: the SQLite index can be lost and rebuilt from them.

Example:
    >>> slug("A red fox, in the snow!")
    'a-red-fox-in-the-snow'
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from klein_widget.client._generation import Generation
from klein_widget.client._metadata import detect_format, embed_params, read_params

__all__ = ["find_written", "slug", "write_image", "written_images"]

_SUFFIXES = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}


def slug(prompt: str, limit: int = 40) -> str:
    """A readable file-name fragment from a prompt.

    Example:
        >>> slug("A red fox, in the snow!")
        'a-red-fox-in-the-snow'
    """
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) > limit:
        words = words[:limit].rsplit("-", 1)[0] if "-" in words[:limit] else words[:limit]
    return words or "image"


def _stem(generation: Generation) -> str:
    return f"{slug(generation.prompt)}-{generation.seed}"


def params_of(path: Path) -> dict[str, Any] | None:
    """The parameters embedded in an image file (or its ``.json`` sidecar), or None."""
    sidecar = path.with_name(path.name + ".json")
    try:
        if sidecar.exists():
            found = json.loads(sidecar.read_text())
            return found if isinstance(found, dict) else None
        return read_params(path)
    except (OSError, ValueError):
        return None


def find_written(folder: Path, generation: Generation) -> Path | None:
    """The file already written for this generation's task, if any (the index may not know)."""
    for path in folder.glob(f"*/*-{_stem(generation)}*"):
        if path.suffix != ".json" and (params_of(path) or {}).get("task_id") == generation.task_id:
            return path
    return None


def write_image(folder: Path, generation: Generation) -> Path:
    """Write the image with its parameters embedded, under a new name; returns the path.

    ``YYYY-MM-DD/HHMMSS-a-red-fox-42.png``; a name already taken gets ``-2``, ``-3``...
    A failed write leaves no half-written file behind.
    """
    params = generation.params()
    data = embed_params(generation.image, params)
    fmt = detect_format(generation.image)
    local = datetime.now().astimezone()
    day = folder / local.strftime("%Y-%m-%d")
    day.mkdir(parents=True, exist_ok=True)
    stem = f"{local:%H%M%S}-{_stem(generation)}"
    suffix = _SUFFIXES.get(fmt, ".bin")
    for n in range(1, 10_000):
        target = day / (stem + (f"-{n}" if n > 1 else "") + suffix)
        try:
            # "x" reserves the name atomically: concurrent writers never clobber.
            with open(target, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except FileExistsError:
            continue
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if fmt not in ("png", "jpeg"):  # no place inside the file: keep a sidecar
            target.with_name(target.name + ".json").write_text(json.dumps(params, indent=1))
        return target
    raise FileExistsError(f"no free file name for {stem} in {day}")


def written_images(folder: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every image file in the gallery with the parameters it carries (others are skipped)."""
    for suffix in _SUFFIXES.values():
        for path in sorted(folder.glob(f"*/*{suffix}")):
            params = params_of(path)
            if params is not None and params.get("task_id"):
                yield path, params
