"""The images a notebook made, found from its saved outputs.

A run notebook shows its images in three ways, and each carries the parameters: an image
output (``image/png``: `Generation`'s own display, the bytes as served), a grid's HTML
(each ``<figure title="PROMPT&#10;seed N · WxH">``, see `klein_widget.ui._grid`), and a
`Generation`'s text repr. Images whose file carries its parameters are taken as they are;
the others are found in the gallery the notebook wrote to (by request, or by the bytes).

Example:
    >>> requests_in_html('<figure style="" title="a fox&#10;seed 7 · 256x256">')
    [('a fox', 256, 256, 7)]
"""

from __future__ import annotations

import ast
import base64
import binascii
import hashlib
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from klein_widget.client._metadata import read_params, strip_params
from klein_widget.client._models import GenerationRequest
from klein_widget.store._files import written_images
from klein_widget.store._gallery import Gallery
from klein_widget.store._pack_files import PackError

__all__ = ["notebook_images", "requests_in_html", "requests_in_text"]

Key = tuple[str, int, int, int]

_FIGURE = re.compile(r'<figure\b[^>]*?\btitle="([^"]*)"', re.S)
_TIP = re.compile(r"^(.*)\nseed (\d+) · (\d+)x(\d+)$", re.S)
_REPR = re.compile(
    r"Generation\(prompt=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"), "
    r"size=(\d+)x(\d+), seed=(\d+),"
)
MAX_NOTEBOOK_BYTES = 512 << 20  # a notebook's outputs hold its images, base64


def requests_in_html(text: str) -> list[Key]:
    """The (prompt, width, height, seed) of every grid cell in ``text``.

    Example:
        >>> requests_in_html('<figure title="a fox&#10;seed 7 · 256x256">')
        [('a fox', 256, 256, 7)]
    """
    found = []
    for title in _FIGURE.findall(text):
        match = _TIP.match(html.unescape(title))
        if match:
            prompt, seed, width, height = match.groups()
            found.append((prompt, int(width), int(height), int(seed)))
    return found


def requests_in_text(text: str) -> list[Key]:
    """The (prompt, width, height, seed) of every `Generation` repr in ``text``.

    Example:
        >>> requests_in_text("Generation(prompt='a fox', size=256x256, seed=7, task_id='t')")
        [('a fox', 256, 256, 7)]
    """
    found = []
    for prompt, width, height, seed in _REPR.findall(text):
        found.append((str(ast.literal_eval(prompt)), int(width), int(height), int(seed)))
    return found


def _outputs(notebook: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for cell in notebook.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                if isinstance(output, dict) and isinstance(output.get("data"), dict):
                    yield output["data"]


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def notebook_images(path: Path, gallery: Path) -> list[bytes]:
    """The image files (parameters embedded) of every image ``path``'s outputs show.

    Images the outputs hold with their parameters come as they are; the others are
    looked up in the gallery at ``gallery``. Raises `PackError` if nothing is found.
    """
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise PackError(f"{path} is larger than {MAX_NOTEBOOK_BYTES:,} bytes")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PackError(f"{path} is not a notebook ({error})") from None
    found: list[bytes] = []
    keys: list[Key] = []
    served: set[str] = set()  # sha256 of shown images without parameters
    for data in _outputs(notebook if isinstance(notebook, dict) else {}):
        for kind in ("image/png", "image/jpeg"):
            if kind in data:
                try:
                    image = base64.b64decode(_text(data[kind]).replace("\n", ""), validate=True)
                except (binascii.Error, ValueError):
                    continue
                if read_params(image) is not None:
                    found.append(image)
                else:
                    served.add(hashlib.sha256(image).hexdigest())
        keys += requests_in_html(_text(data.get("text/html", "")))
        keys += requests_in_text(_text(data.get("text/plain", "")))
    store = Gallery(gallery, packs=())
    for key in dict.fromkeys(keys):
        try:
            entry = store.lookup(GenerationRequest(*key))
        except ValueError:  # not a request this model takes: not one of ours
            continue
        if entry is not None and entry.path is not None:
            found.append(entry.path.read_bytes())
    if served:
        for file, _ in written_images(gallery):
            raw = file.read_bytes()
            if hashlib.sha256(strip_params(raw)).hexdigest() in served:
                found.append(raw)
    if not found:
        raise PackError(
            f"{path} shows no image klein-widget made that is in the gallery at {gallery}: "
            "run the notebook first (and save it), or give the gallery it wrote to"
        )
    return found
