"""Helpers for lesson-pack tests: a teacher's gallery made on the emulator, and packs to spoil."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from klein_widget import Gallery, Generation, GenerationRequest, KleinClient
from klein_widget.emulator import create_app
from tests.conftest import FAKE_KEY, fast_options

SMALL = {"width": 256, "height": 256}
# An emulator's address (loopback, served in-process): its images are stand-ins, and a
# client there may be answered by stand-ins (a real service never is).
LOCAL_URL = "http://127.0.0.1:8765"
LESSON = [
    GenerationRequest("a paper boat on a puddle", seed=1, **SMALL),
    GenerationRequest("a paper boat on a puddle", seed=2, **SMALL),
    GenerationRequest("a tin robot, golden hour", width=320, height=256, seed=7),
]


def teach(gallery: Path, requests: list[GenerationRequest] = LESSON) -> list[Generation]:
    """A teacher runs the lesson once: every request made on an emulator, into ``gallery``."""
    app = create_app(inference_time=0.01)
    with (
        TestClient(app, base_url=LOCAL_URL) as http,
        KleinClient(
            FAKE_KEY, LOCAL_URL, http_client=http, gallery=Gallery(gallery), **fast_options()
        ) as client,
    ):
        return [client.generate(request) for request in requests]


def members(pack: Path) -> dict[str, bytes]:
    """Every member of a zip pack, by name."""
    with zipfile.ZipFile(pack) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rezip(pack: Path, files: dict[str, bytes], out: Path | None = None) -> Path:
    """Write ``files`` as a zip (over ``pack``, or to ``out``); returns the path."""
    target = out or pack
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


def manifest_of(files: dict[str, bytes]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(files["manifest.json"])
    return loaded


def with_manifest(files: dict[str, bytes], manifest: dict[str, Any]) -> dict[str, bytes]:
    return {**files, "manifest.json": json.dumps(manifest).encode()}


def images_of(files: dict[str, bytes]) -> Iterator[str]:
    return (name for name in files if name != "manifest.json")
