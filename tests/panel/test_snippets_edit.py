"""The snippets of an edit with a local reference are correct code (test_snippets.py does
the same for a plain image): the curl script, run for real against the loopback emulator,
uploads the reference itself (ticket, PUT, download URL), submits and downloads the same
picture, naming the key only in the Authorization header of requests to $BASE; the
%klein line parses back to the edit."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from klein_widget import Generation, KleinClient
from klein_widget.client._family_inputs import url_sha256
from klein_widget.emulator import RunningEmulator
from klein_widget.magic._args import parse_line
from klein_widget.ui._snippets import snippets
from tests.conftest import FAKE_KEY, fast_options


def pixels(data: bytes) -> tuple[tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size, image.convert("RGB").tobytes()


def reference_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 256), "darkorange").save(buffer, "PNG")
    return buffer.getvalue()


def run_script(script: str, cwd: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    """``script`` run by bash in ``cwd``, with the key and ``base_url`` in the environment."""
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WAVESPEED_API_KEY": FAKE_KEY, "WAVESPEED_BASE_URL": base_url},
        check=False,
    )


def upload(base_url: str, data: bytes) -> str:
    """The emulator's download URL for ``data``, by WaveSpeed's upload protocol."""
    ticket = httpx.post(
        f"{base_url}/api/v3/media/uploads",
        json={"filename": "reference-1.png", "size": len(data), "content_type": "image/png"},
        headers={"Authorization": f"Bearer {FAKE_KEY}"},
    ).json()["data"]
    put = ticket["upload"]
    httpx.put(put["url"], content=data, headers=put["headers"]).raise_for_status()
    url: str = ticket["download_url"]
    return url


@pytest.fixture
def edited(live_env: str, tmp_path: Path) -> tuple[Generation, dict[str, str]]:
    """A 9B edit of a local PNG and a URL reference (an earlier output), and its snippets.

    The PNG's bytes go up first, so the edit is the one a local file makes: its request
    keys the PNG by its content (as the client's own upload does), the output by its URL.
    """
    png = reference_png()
    with KleinClient(FAKE_KEY, live_env, gallery=tmp_path / "gallery", **fast_options()) as client:
        first = client.generate("a red fox", width=256, height=256, seed=1)
        output_url = f"{live_env}/emulator/images/{first.task_id}/0.png"  # its output
        made = client.edit(
            "make it night, keep image 2's fox",
            [upload(live_env, png), output_url],
            model="9b",
            seed=42,
        )
    local = (hashlib.sha256(png).hexdigest(), made.request.references[1])
    made = dataclasses.replace(made, request=dataclasses.replace(made.request, references=local))
    code = snippets(made.request, base_url=live_env, base_url_from_env=True)
    (tmp_path / "reference-1.png").write_bytes(png)  # the file the snippets name
    return made, code


def test_every_snippet_names_the_file_and_the_url(
    edited: tuple[Generation, dict[str, str]],
) -> None:
    made, code = edited
    url = made.request.images[1]
    assert made.request.references[1] == url_sha256(url)  # given as a URL: passed through
    assert "client.edit(" in code["Python"]
    assert f"['reference-1.png', {url!r}]" in code["Python"]
    assert "model='9b'" in code["Python"]
    assert code["CLI"].startswith(f"klein edit reference-1.png {shlex.quote(url)} ")
    assert "--model 9b" in code["CLI"]
    assert code["%klein"].startswith('%klein "make it night, keep image 2\'s fox" -s 42')
    assert f"--edit reference-1.png --ref {url}" in code["%klein"]
    assert "-W" not in code["%klein"]  # the size of the first image is kept


def test_the_curl_edit_script_uploads_submits_and_downloads_the_same_picture(
    edited: tuple[Generation, dict[str, str]],
    tmp_path: Path,
    live_env: str,
    live_emulator: RunningEmulator,
) -> None:
    made, code = edited
    script = code["curl"]
    # The key: only as "$WAVESPEED_API_KEY", only in an Authorization header, never on the PUT.
    for line in script.splitlines():
        if "WAVESPEED_API_KEY" in line and not line.lstrip().startswith("#"):
            assert '"Authorization: Bearer $WAVESPEED_API_KEY"' in line, line
        if "-X PUT" in line:
            assert "Authorization" not in line
    assert FAKE_KEY not in script
    assert script.count("=$(upload ") == 1  # the URL reference is not uploaded again
    assert "/api/v3/wavespeed-ai/flux-2-klein-9b/edit" in script
    uploads = live_emulator.emulator.count("PUT", "/emulator/uploads/*")

    done = run_script(script, tmp_path, live_env)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert live_emulator.emulator.count("PUT", "/emulator/uploads/*") == uploads + 1
    assert pixels((tmp_path / "klein-42.png").read_bytes()) == pixels(made.image)


def test_a_failed_upload_submits_nothing(
    edited: tuple[Generation, dict[str, str]],
    tmp_path: Path,
    live_env: str,
    live_emulator: RunningEmulator,
) -> None:
    _, code = edited
    (tmp_path / "reference-1.png").unlink()  # the upload cannot read its file
    submits = live_emulator.emulator.count("POST", "/api/v3/wavespeed-ai/flux-2-klein-9b/edit")
    done = run_script(code["curl"], tmp_path, live_env)
    assert re.search(r"submit failed|upload failed|No such file", done.stderr)
    assert (
        live_emulator.emulator.count("POST", "/api/v3/wavespeed-ai/flux-2-klein-9b/edit") == submits
    )
    assert not (tmp_path / "klein-42.png").exists()


def test_the_python_and_cli_edit_snippets_make_the_same_picture(
    edited: tuple[Generation, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made, code = edited
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KLEIN_GALLERY", "off")
    namespace: dict[str, object] = {}
    exec(compile(code["Python"], "<snippet>", "exec"), namespace)
    gen = namespace["gen"]
    assert isinstance(gen, Generation)
    assert gen.request.key == made.request.key
    assert pixels(gen.image) == pixels(made.image)

    (tmp_path / "klein-42.png").unlink()
    klein = Path(sys.executable).with_name("klein")
    done = subprocess.run(
        [str(klein), *shlex.split(code["CLI"])[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KLEIN_GALLERY": "off"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert pixels((tmp_path / "klein-42.png").read_bytes()) == pixels(made.image)


def test_the_magic_snippet_parses_back_to_the_edit(
    edited: tuple[Generation, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made, code = edited
    monkeypatch.chdir(tmp_path)
    args = parse_line(code["%klein"])
    assert args.images == ("reference-1.png", made.request.images[1])
    assert (args.model, args.seed, args.width, args.height) == ("9b-edit", 42, None, None)
    assert args.prompt == made.request.prompt
