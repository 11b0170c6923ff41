"""`klein generate --model 9b`, `--lora` and `klein edit IMAGE... PROMPT` against the
loopback emulator: as processes where the result is a file, in this process where the
command ends before anything is sent (as tests/unit/test_cli.py does)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from klein_widget import KleinClient
from klein_widget.client._family import resolve_model
from klein_widget.client._metadata import read_params
from klein_widget.emulator import RunningEmulator
from tests.conftest import FAKE_KEY
from tests.unit.test_cli import in_process, run


def png(path: Path, size: tuple[int, int], colour: str = "teal") -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.slow
def test_generate_with_model_9b(
    env: dict[str, str], tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    path = resolve_model("9b").path
    before = live_emulator.emulator.count("POST", path)
    result = run(["generate", "a harbour", "-W", "256", "-H", "256", "-s", "7", "--model", "9b",
                  "-o", "h.png"], env, tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert live_emulator.emulator.count("POST", path) == before + 1
    params = read_params(tmp_path / "h.png")
    assert params is not None
    assert params["model"] == resolve_model("9b").id


@pytest.mark.slow
def test_edit_a_url_keeps_its_size_and_writes_out(
    env: dict[str, str], tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    with KleinClient(FAKE_KEY, live_emulator.base_url, gallery=False) as client:
        task = client.generate("a red fox", width=384, height=256, seed=2).task_id
    url = f"{live_emulator.base_url}/emulator/images/{task}/0.png"  # the emulator's output
    path = resolve_model("9b-edit").path
    before = live_emulator.emulator.count("POST", path)
    result = run(["edit", url, "make it night", "-s", "3", "--model", "9b", "-o", "out.png"],
                 env, tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "out.png"
    with Image.open(tmp_path / "out.png") as image:
        assert image.size == (384, 256)
    assert live_emulator.emulator.count("POST", path) == before + 1
    params = read_params(tmp_path / "out.png")
    assert params is not None
    assert params["model"] == resolve_model("9b-edit").id
    assert FAKE_KEY not in result.stdout + result.stderr


@pytest.mark.slow
def test_edit_files_keeps_the_first_size_and_writes_out(
    env: dict[str, str], tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    png(tmp_path / "cat.png", (384, 256))
    png(tmp_path / "sofa.jpg.png", (256, 256), "olive")
    uploads = live_emulator.emulator.count("POST", "/api/v3/media/uploads")
    result = run(["edit", "cat.png", "sofa.jpg.png", "put the cat on the sofa", "-s", "3",
                  "-o", "out.png"], env, tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "out.png"
    with Image.open(tmp_path / "out.png") as image:
        assert image.size == (384, 256)
    assert live_emulator.emulator.count("POST", "/api/v3/media/uploads") == uploads + 2
    assert FAKE_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["edit", "a.png", "a.png", "a.png", "a.png", "a.png", "x"], "an edit takes"),
        (["edit", "missing.png", "make it night"], "missing.png"),
        (["generate", "a fox", "--lora", "owner/style:3"], "from 0 to 2"),
        (["generate", "a fox", "--lora", "owner/style", "--model", "9b"], "lora"),
        (["generate", "a fox", "--model", "12b"], "12b"),
    ],
)
def test_bad_family_input_is_exit_2_and_sends_nothing(
    env: dict[str, str],
    tmp_path: Path,
    live_emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    words: str,
) -> None:
    png(tmp_path / "a.png", (256, 256))
    before = len(live_emulator.emulator.requests)
    result = in_process(args, env, tmp_path, monkeypatch)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr.lower() or words in result.stderr
    assert result.stderr.startswith("error: ")
    assert len(live_emulator.emulator.requests) == before  # nothing was sent


def test_edit_help_lists_every_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = in_process(["edit", "--help"], dict(os.environ), tmp_path, monkeypatch)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: klein edit ")
    codes = result.stdout.split("exit codes:", 1)[1]
    for code in (0, 2, 11, 130):
        assert f"  {code:<4} " in codes
