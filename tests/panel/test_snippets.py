"""Snippets are correct code: each one, run for real, makes exactly the same image.

The panel makes an image on the loopback emulator; its Python snippet is exec'd, its curl
script is run by bash, its CLI line by the real CLI, and the results are compared.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from klein_widget import GenerationRequest, session
from klein_widget.cli import build_parser
from klein_widget.magic._args import parse_line
from klein_widget.ui._snippets import (
    cli_snippet,
    curl_snippet,
    magic_snippet,
    python_snippet,
    snippets,
)
from klein_widget.widget._widget import KleinPanel
from tests.conftest import FAKE_KEY

TRICKY = 'it\'s a "fox" <b> & $HOME `id` \\ ünïcode — ok'
REQUEST = GenerationRequest(TRICKY, 768, 512, seed=42)


def pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size, image.convert("RGB").tobytes()


def curl_body(script: str) -> dict[str, object]:
    (line,) = [x for x in script.splitlines() if x.lstrip().startswith("-d ")]
    words = shlex.split(line)
    assert words[0] == "-d"
    body: dict[str, object] = json.loads(words[1].rstrip(")"))
    return body


@pytest.fixture
async def made(
    live_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[KleinPanel]:
    """A panel that made one image on the loopback emulator (cwd: a temporary folder)."""
    monkeypatch.chdir(tmp_path)
    panel = KleinPanel(prompt=TRICKY, width=768, height=512, seed=42)
    task = panel.generate()
    assert task is not None
    assert await task is not None
    yield panel
    panel.close()


async def test_python_snippet_reproduces_the_exact_bytes(made: KleinPanel, tmp_path: Path) -> None:
    assert made.last is not None
    code = made.snippets["Python"]
    assert "base_url" not in code  # the emulator's URL is in $WAVESPEED_BASE_URL already
    namespace: dict[str, object] = {}

    exec(compile(code, "<snippet>", "exec"), namespace)

    gen = namespace["gen"]
    assert gen.image == made.last.image  # type: ignore[attr-defined]
    assert gen.seed == 42
    assert gen.prompt == TRICKY
    assert (tmp_path / "klein-42.png").exists()


async def test_curl_snippet_runs_and_downloads_the_same_image(
    made: KleinPanel, tmp_path: Path, live_env: str
) -> None:
    assert made.last is not None
    script = made.snippets["curl"]
    # An emulator's port changes with each start: the script reads where it runs now.
    assert 'BASE="$WAVESPEED_BASE_URL"' in script
    assert live_env not in script
    assert curl_body(script) == made.last.request.to_json()

    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WAVESPEED_API_KEY": FAKE_KEY, "WAVESPEED_BASE_URL": live_env},
    )

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "klein-42.png").read_bytes() == made.last.image


async def test_cli_snippet_runs_and_makes_the_same_pixels(made: KleinPanel, tmp_path: Path) -> None:
    assert made.last is not None
    line = made.snippets["CLI"]
    assert line.startswith("klein generate ")
    words = shlex.split(line)
    # The `klein` the package installs, next to this Python (as in an activated venv).
    klein = Path(sys.executable).with_name("klein")
    assert klein.exists(), "the klein console script is not installed next to python"
    done = await asyncio.to_thread(
        subprocess.run,
        [str(klein), *words[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert pixels((tmp_path / "klein-42.png").read_bytes()) == pixels(made.last.image)


async def test_magic_snippet_parses_back_to_the_request(made: KleinPanel) -> None:
    assert made.last is not None
    line = made.snippets["%klein"]
    assert line.startswith("%klein ")
    assert parse_line(line.removeprefix("%klein ")).request() == made.last.request


def test_curl_body_is_exactly_the_request_json() -> None:
    for request in (
        REQUEST,
        GenerationRequest("line one\nline 'two'", 256, 1536, seed=0, base64_output=True),
    ):
        assert curl_body(curl_snippet(request)) == request.to_json()
        assert "BASE=https://api.wavespeed.ai" in curl_snippet(request)


def test_cli_snippet_matches_the_cli_flags() -> None:
    for prompt in (TRICKY, "-dash first", "two\nlines"):
        request = GenerationRequest(prompt, 1024, 576, seed=7)
        words = shlex.split(cli_snippet(request))
        assert words[:2] == ["klein", "generate"]
        args = build_parser().parse_args(words[1:])
        assert (args.prompt, args.width, args.height, args.seed, args.out) == (
            prompt,
            1024,
            576,
            7,
            "klein-7.png",
        )


def test_base_url_appears_only_where_needed() -> None:
    custom = "http://127.0.0.1:8765"
    assert "base_url" not in python_snippet(REQUEST)
    assert f"KleinClient(base_url={custom!r})" in python_snippet(REQUEST, base_url=custom)
    assert cli_snippet(REQUEST, base_url=custom).startswith(f"WAVESPEED_BASE_URL={custom} ")
    assert f"BASE={custom}" in curl_snippet(REQUEST, base_url=custom)
    from_env = snippets(REQUEST, base_url=custom, base_url_from_env=True)
    assert "base_url" not in from_env["Python"]
    assert "WAVESPEED" not in from_env["CLI"]
    assert f"BASE={custom}" in from_env["curl"]


def test_snippets_need_a_concrete_seed_and_never_hold_a_key(api_key: str) -> None:
    with pytest.raises(ValueError, match="concrete seed"):
        python_snippet(GenerationRequest("a fox"))
    texts = snippets(REQUEST, filename="fox.jpg")
    assert list(texts) == ["Python", "%klein", "curl", "CLI"]
    assert all(api_key not in text for text in texts.values())
    assert "gen.save('fox.jpg')" in texts["Python"]
    assert "-o fox.jpg" in texts["CLI"]
    assert magic_snippet(REQUEST) == texts["%klein"]
    assert session().spend.images == 0  # building snippets sends nothing
