"""`python -m klein_widget` as a user runs it: a real process against the loopback emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from klein_widget.client._metadata import read_params
from klein_widget.emulator import RunningEmulator
from tests.conftest import FAKE_KEY


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "klein_widget", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


@pytest.fixture
def env(live_emulator: RunningEmulator, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WAVESPEED_BASE_URL": live_emulator.base_url,
        "WAVESPEED_API_KEY": FAKE_KEY,
        "KLEIN_GALLERY": str(tmp_path / "gallery"),
    }


def test_generate_writes_the_image_with_parameters(env: dict[str, str], tmp_path: Path) -> None:
    result = run(
        [
            "generate",
            "a red fox",
            "--width",
            "768",
            "--height",
            "512",
            "--seed",
            "42",
            "-o",
            "fox.png",
        ],
        env,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == Path("fox.png")
    with Image.open(tmp_path / path) as image:
        assert image.size == (768, 512)
    params = read_params(tmp_path / path)
    assert params is not None
    assert params["seed"] == 42
    assert "seed 42" in result.stderr
    assert "$0.008" in result.stderr
    assert FAKE_KEY not in result.stdout + result.stderr


def test_random_seed_is_printed_and_in_the_file_name(env: dict[str, str], tmp_path: Path) -> None:
    result = run(["generate", "a fox", "-W", "256", "-H", "256", "-q"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    seed = int(name.removeprefix("klein-").removesuffix(".png"))
    assert read_params(tmp_path / name)["seed"] == seed  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "extra_env", "code", "words"),
    [
        (["generate", "a fox", "--width", "4096"], {}, 2, "width must be from 256 to 1536"),
        (["generate", "a fox", "--aspect", "wide"], {}, 2, "--aspect must be two whole numbers"),
        (["generate", "a fox", "--aspect", "10:1"], {}, 2, "--aspect 10:1 gives 2560x256: width"),
        (["generate", "a fox", "--aspect", "1:1", "-W", "512", "-H", "512"], {}, 2, "both"),
        (["generate", "   "], {}, 2, "prompt is empty"),
        (
            ["generate", "a fox"],
            {"WAVESPEED_API_KEY": "", "WAVESPEED_BASE_URL": "https://api.wavespeed.ai"},
            3,
            "WAVESPEED_API_KEY",
        ),
    ],
)
def test_errors_have_exit_codes_and_one_line(
    env: dict[str, str],
    tmp_path: Path,
    args: list[str],
    extra_env: dict[str, str],
    code: int,
    words: str,
) -> None:
    result = run(args, {**env, **extra_env}, tmp_path)
    assert result.returncode == code
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_aspect_makes_the_panels_size(env: dict[str, str], tmp_path: Path) -> None:
    result = run(["generate", "a fox", "--aspect", "3:2", "-s", "3", "-q"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / result.stdout.strip()) as image:
        assert image.size == (1024, 688)  # as the panel's 3:2 button and %klein --aspect 3:2
    narrow = run(["generate", "a fox", "--aspect", "9:16", "-W", "432", "-q"], env, tmp_path)
    assert narrow.returncode == 0, narrow.stderr
    with Image.open(tmp_path / narrow.stdout.strip()) as image:
        assert image.size == (432, 768)


def test_failed_task_exit_code(
    env: dict[str, str], tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    live_emulator.emulator.script("task", "fail")
    result = run(["generate", "a fox", "-W", "256", "-H", "256"], env, tmp_path)
    assert result.returncode == 6
    assert "failed on the server" in result.stderr


def test_enhance_prints_the_new_prompt(env: dict[str, str], tmp_path: Path) -> None:
    result = run(["enhance", "a fox"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "fox" in result.stdout.lower()
    assert len(result.stdout.strip()) > 20


def test_help_lists_exit_codes(tmp_path: Path) -> None:
    result = run(["generate", "--help"], dict(os.environ), tmp_path)
    assert result.returncode == 0
    assert "2 InvalidRequestError" in result.stdout


@pytest.mark.parametrize(
    "code",
    [
        "import klein_widget; klein_widget.connect()",
        "import sys; from klein_widget.__main__ import main; sys.exit(main(['emulator']))",
    ],
)
def test_without_the_emulator_extra_the_error_says_how_to_get_it(code: str, tmp_path: Path) -> None:
    # sys.modules[name] = None makes the import fail exactly as an absent package does.
    blocked = "import sys; sys.modules['starlette'] = None; " + code
    result = subprocess.run(
        [sys.executable, "-c", blocked],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "WAVESPEED_API_KEY"},
    )
    assert result.returncode != 0
    assert "pip install 'klein-widget[emulator]'" in result.stderr
