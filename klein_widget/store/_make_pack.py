"""`make_pack`: a lesson pack from a gallery folder or from the images a notebook made.

The zip is deterministic: members sorted, fixed timestamps and permissions, so the same
images make the same bytes (a teacher can check a pack into git, or compare two).

Example:
    >>> manifest = make_pack("klein-outputs", "lesson-02.zip")  # doctest: +SKIP
    >>> len(manifest["images"])  # doctest: +SKIP
    24
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from os import PathLike
from pathlib import Path
from typing import Any

from klein_widget._version import __version__
from klein_widget.client._constants import MAX_IMAGE_PIXELS
from klein_widget.client._metadata import check_image, embed_params, read_params, strip_params
from klein_widget.client._models import MODEL_ID, GenerationRequest
from klein_widget.store._entry import file_provenance
from klein_widget.store._files import _SUFFIXES, slug, written_images
from klein_widget.store._index import INDEX_NAME
from klein_widget.store._notebook_images import notebook_images
from klein_widget.store._pack import PACK_FORMAT, PACK_VERSION, PackEntry, open_pack
from klein_widget.store._pack_files import MANIFEST_NAME, MAX_PACK_FILES, PackError
from klein_widget.store._place import DEFAULT_FOLDER, GALLERY_ENV, resolve_gallery

__all__ = ["make_pack", "pack_entry"]

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can say: the same for every member


def pack_entry(data: bytes) -> tuple[PackEntry, bytes]:
    """The manifest line for an image file (parameters embedded) and the bytes to store.

    The model is written into the file's parameters if they lack it, so the file and
    its line always agree. `ValueError` if the file is not one klein-widget wrote.

    Example:
        >>> entry, stored = pack_entry(Path("fox.png").read_bytes())  # doctest: +SKIP
        >>> entry.request.seed  # doctest: +SKIP
        42
    """
    params = read_params(data)
    if params is None:
        raise ValueError("it carries no generation parameters")
    fmt = check_image(data, MAX_IMAGE_PIXELS)
    request = GenerationRequest(params["prompt"], params["width"], params["height"], params["seed"])
    if request.seed < 0:
        raise ValueError(f"seed {request.seed} is not a concrete seed")
    model = str(params.get("model") or MODEL_ID)
    if params.get("model") != model:
        data = embed_params(strip_params(data), {**params, "model": model})
    name = f"images/{slug(request.prompt)}-{request.width}x{request.height}-{request.seed}"
    simulated, service = file_provenance(params, data)
    entry = PackEntry(
        file=name + _SUFFIXES.get(fmt, ".png"),
        model=model,
        request=request,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        task_id=str(params.get("task_id") or ""),
        created_at=params.get("created_at"),
        inference_ms=params.get("inference_ms"),
        nsfw=bool(params.get("nsfw", False)),
        simulated=simulated,
        service=service,
    )
    return entry, data


def _gallery_images(folder: Path) -> list[bytes]:
    # Oldest first: a key made again later (fresh=True) replaces the earlier image.
    found = sorted(written_images(folder), key=lambda pair: str(pair[1].get("created_at") or ""))
    return [path.read_bytes() for path, _ in found]


def _default_gallery(notebook: Path) -> Path:
    # `klein_widget.store._place`'s rule, for a notebook: $KLEIN_GALLERY, else beside it;
    # a notebook saved inside a gallery (the quickstart's) has its images right there.
    env = os.environ.get(GALLERY_ENV, "").strip()
    found = resolve_gallery(env) if env else None
    if found is not None:
        return found.path
    if (notebook.parent / INDEX_NAME).exists():
        return notebook.parent
    return notebook.parent / DEFAULT_FOLDER


def _write(out: Path, manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    text = (json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
    members = {MANIFEST_NAME: text, **files}
    if out.suffix.lower() != ".zip":
        for name, data in sorted(members.items()):
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, data in sorted(members.items()):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3  # Unix, wherever it is made: same bytes everywhere
            info.external_attr = 0o100644 << 16
            # PNG and JPEG are compressed already; only the manifest deflates well.
            info.compress_type = (
                zipfile.ZIP_DEFLATED if name == MANIFEST_NAME else zipfile.ZIP_STORED
            )
            archive.writestr(info, data)
    partial.replace(out)


def make_pack(
    source: str | PathLike[str],
    out: str | PathLike[str],
    *,
    gallery: str | PathLike[str] | None = None,
) -> dict[str, Any]:
    """Make a lesson pack at ``out`` (``.zip``, else a folder) and return its manifest.

    ``source`` is a gallery folder (every image in it) or a notebook (``.ipynb``: the
    images its saved outputs show, from ``gallery``, by default the notebook's:
    ``$KLEIN_GALLERY``, else ``klein-outputs`` beside it). One image per model, prompt,
    size and seed (the newest). The pack is opened and checked once written.

    Example:
        >>> make_pack("lesson-02.ipynb", "lesson-02.zip")["images"][0]["seed"]  # doctest: +SKIP
        42
    """
    src = Path(source).expanduser()
    target = Path(out).expanduser()
    if src.suffix.lower() == ".ipynb" and src.is_file():
        where = Path(gallery).expanduser() if gallery is not None else _default_gallery(src)
        images = notebook_images(src, where)
    elif src.is_dir():
        images = _gallery_images(src)
    elif not src.exists():
        raise PackError(
            f"{src} does not exist: give a notebook you ran and saved (.ipynb) or a gallery "
            "folder (klein-outputs)"
        )
    else:
        raise PackError(
            f"{src} is neither a notebook (.ipynb) nor a gallery folder: give one of them, "
            "e.g. `klein pack make lesson-02.ipynb -o lesson-02.zip`"
        )
    chosen: dict[str, tuple[PackEntry, bytes]] = {}
    for data in images:
        try:
            entry, stored = pack_entry(data)
        except (KeyError, TypeError, ValueError) as error:
            warnings.warn(
                f"klein pack make skipped an image: {error}", RuntimeWarning, stacklevel=2
            )
            continue
        chosen[entry.key] = (entry, stored)
    if not chosen:
        raise PackError(f"{src} holds no image with its parameters embedded: nothing to pack")
    if len(chosen) > MAX_PACK_FILES:
        raise PackError(f"{len(chosen)} images are more than a pack holds ({MAX_PACK_FILES})")
    files: dict[str, bytes] = {}
    lines = []
    for entry, data in sorted(chosen.values(), key=lambda pair: pair[0].order):
        name, n = entry.file, 1
        while name in files:  # two prompts with the same slug
            n += 1
            stem, dot, suffix = entry.file.rpartition(".")
            name = f"{stem}-{n}{dot}{suffix}"
        files[name] = data
        lines.append({**entry.to_json(), "file": name})
    manifest = {
        "format": PACK_FORMAT,
        "version": PACK_VERSION,
        "generator": f"klein-widget {__version__}",
        # True if any image is a simulating server's stand-in (each line says which).
        "simulated": any(line["simulated"] for line in lines),
        "images": lines,
    }
    _write(target, manifest, files)
    open_pack(target, verify=True)  # what a student will open: check it now
    return manifest
