"""A lesson pack's ``manifest.json``: its format and version, and one `PackEntry` per image.

Example:
    >>> read_manifest(b'{"format": "klein-widget lesson pack", "version": 1, "images": []}')
    []
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from klein_widget.client._models import GenerationRequest
from klein_widget.store._pack_files import (
    MANIFEST_NAME,
    MAX_PACK_FILES,
    PackError,
    safe_member_name,
)

__all__ = ["PACK_FORMAT", "PACK_VERSION", "PackEntry", "read_manifest"]

PACK_FORMAT = "klein-widget lesson pack"
PACK_VERSION = 1


def _when(value: object) -> str | None:
    """An ISO time (checked), or None."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).isoformat()


@dataclass(frozen=True)
class PackEntry:
    """One manifest line: an image file and the request it answers.

    Example:
        >>> entry = open_pack("lesson-02.zip").entries[0]  # doctest: +SKIP
        >>> entry.request.prompt, entry.request.seed, entry.simulated  # doctest: +SKIP
        ('a red fox', 42, False)
    """

    file: str
    model: str
    request: GenerationRequest
    sha256: str
    size: int  # bytes of the file in the pack
    task_id: str = ""
    created_at: str | None = None
    inference_ms: int | None = None
    nsfw: bool = False
    # Provenance, as `Generation` has it; a manifest line without it (a pack made before it
    # was recorded) is a stand-in: never passed off as a real image.
    simulated: bool = True
    service: str = ""

    @classmethod
    def from_json(cls, line: object, number: int) -> PackEntry:
        """A manifest line, checked; `PackError` naming the line and the field otherwise."""
        where = f"manifest line {number}"
        if not isinstance(line, dict):
            raise PackError(f"{where} is not an object")
        try:
            request = GenerationRequest(line["prompt"], line["width"], line["height"], line["seed"])
            entry = cls(
                file=safe_member_name(str(line["file"])),
                model=str(line["model"]),
                request=request,
                sha256=str(line["sha256"]).lower(),
                size=int(line["bytes"]),
                task_id=str(line.get("task_id") or ""),
                created_at=_when(line.get("created_at")),
                inference_ms=None
                if line.get("inference_ms") is None
                else int(line["inference_ms"]),
                nsfw=bool(line.get("nsfw", False)),
                simulated=line.get("simulated") is not False,
                service=str(line.get("service") or ""),
            )
        except KeyError as missing:
            raise PackError(f"{where} has no {missing.args[0]!r}") from None
        except (TypeError, ValueError) as error:  # a `PackError` too: it is a ValueError
            raise PackError(f"{where}: {error}") from None
        if request.seed < 0:
            raise PackError(f"{where}: seed {request.seed} is not a concrete seed")
        if len(entry.sha256) != 64 or not all(c in "0123456789abcdef" for c in entry.sha256):
            raise PackError(f"{where}: sha256 {entry.sha256!r} is not a SHA-256 in hex")
        return entry

    @property
    def key(self) -> str:
        """What the entry answers: the `recipe_key` of its model, prompt, size and seed."""
        return self.request.recipe(self.model).key

    @property
    def order(self) -> tuple[str, str, int, int, int]:
        """Where the line goes in a manifest and a listing: model, prompt, size, seed."""
        r = self.request
        return (self.model, r.prompt, r.width or 0, r.height or 0, r.seed)

    def to_json(self) -> dict[str, Any]:
        """The manifest line (what `from_json` reads)."""
        r = self.request
        return {
            "file": self.file,
            "model": self.model,
            "prompt": r.prompt,
            "width": r.width,
            "height": r.height,
            "seed": r.seed,
            "sha256": self.sha256,
            "bytes": self.size,
            "task_id": self.task_id,
            "created_at": self.created_at,
            "inference_ms": self.inference_ms,
            "nsfw": self.nsfw,
            "simulated": self.simulated,
            "service": self.service,
        }


def read_manifest(data: bytes) -> list[PackEntry]:
    """The entries of a ``manifest.json``, every line checked, or `PackError`.

    Example:
        >>> read_manifest(b'{"format": "klein-widget lesson pack", "version": 1, "images": []}')
        []
    """
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PackError(f"{MANIFEST_NAME} is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
        raise PackError(f"{MANIFEST_NAME} does not describe a {PACK_FORMAT}")
    version = manifest.get("version")
    if version != PACK_VERSION:
        raise PackError(
            f"it is a version {version!r} pack and this klein-widget reads version "
            f"{PACK_VERSION}: upgrade klein-widget, or make the pack again"
        )
    lines = manifest.get("images")
    if not isinstance(lines, list) or len(lines) > MAX_PACK_FILES:
        raise PackError(f"{MANIFEST_NAME} needs a list of at most {MAX_PACK_FILES} images")
    entries = [PackEntry.from_json(line, n) for n, line in enumerate(lines, 1)]
    for name, seen in (("file", {e.file for e in entries}), ("key", {e.key for e in entries})):
        if len(seen) != len(entries):
            raise PackError(f"{MANIFEST_NAME} lists the same {name} twice")
    return entries
