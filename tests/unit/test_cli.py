"""`klein` as a user runs it: a real process against the loopback emulator.

Cases that end before any request (help, bad input, a missing key) call the same entry
point in this process (`in_process`: argv in, exit code and output out); a process start
costs a second or more, and those cases do not depend on one.
"""

from __future__ import annotations

import contextlib
import io
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from klein_widget.cli import main
from klein_widget.client._metadata import read_params, strip_params
from klein_widget.emulator import Emulator, RunningEmulator, start
from tests.conftest import FAKE_KEY

# The console script pyproject.toml installs, next to this Python (as in an activated venv).
KLEIN = Path(sys.executable).with_name("klein")


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KLEIN), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def in_process(
    args: list[str], env: dict[str, str], cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> subprocess.CompletedProcess[str]:
    """``klein args`` run here through `main`, with the variables ``klein`` reads from
    ``env``, in ``cwd``; what it printed and its exit code, as `run` returns them."""
    for name in ("WAVESPEED_API_KEY", "WAVESPEED_BASE_URL", "KLEIN_GALLERY"):
        if name in env:
            monkeypatch.setenv(name, env[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exit:  # argparse's --help
            code = exit.code if isinstance(exit.code, int) else 1
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_generate_writes_the_image_with_parameters(env: dict[str, str], tmp_path: Path) -> None:
    args = ["generate", "a red fox", "--width", "768", "--height", "512", "--seed", "42"]
    result = run([*args, "-o", "fox.png"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path == Path("fox.png")
    with Image.open(tmp_path / path) as image:
        assert image.size == (768, 512)
    params = read_params(tmp_path / path)
    assert params is not None
    assert params["seed"] == 42
    assert "seed 42" in result.stderr
    assert "$0.008 simulated" in result.stderr  # the emulator bills nothing
    assert FAKE_KEY not in result.stdout + result.stderr


def test_python_m_klein_widget_is_the_same_command(env: dict[str, str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "klein_widget", "generate", "a fox", "-W", "256", "-s", "5", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "klein-5.png"
    assert (tmp_path / "klein-5.png").is_file()
    usage = subprocess.run(
        [sys.executable, "-m", "klein_widget", "--help"], capture_output=True, text=True
    )
    assert usage.stdout.startswith("usage: klein ")


def test_random_seed_is_printed_and_in_the_file_name(env: dict[str, str], tmp_path: Path) -> None:
    result = run(["generate", "a fox", "-W", "256", "-H", "256", "-q"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    seed = int(name.removeprefix("klein-").removesuffix(".png"))
    assert read_params(tmp_path / name)["seed"] == seed  # type: ignore[index]
    assert result.stderr == ""


# --- progress: once per stage in a log, one line in place on a terminal -----------------------


@pytest.fixture(scope="module")
def slow_emulator() -> RunningEmulator:
    """Images take long enough for several polls of the same stage."""
    with start(port=0, inference_time=1.2) as running:
        yield running


def test_progress_in_a_log_prints_each_stage_once(
    env: dict[str, str], tmp_path: Path, slow_emulator: RunningEmulator
) -> None:
    emulator = slow_emulator.emulator
    polls_before = emulator.count("GET", "/api/v3/predictions/*/result")
    env = {**env, "WAVESPEED_BASE_URL": slow_emulator.base_url}
    result = run(["generate", "a fox", "-W", "256", "-H", "256", "-s", "1"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert emulator.count("GET", "/api/v3/predictions/*/result") - polls_before > 2
    lines = result.stderr.splitlines()
    stages = [line.split("…")[0] for line in lines if "…" in line]
    assert stages == ["Submitting", "Submitted", "Generating", "Downloading"]
    assert "\r" not in result.stderr
    assert lines[-2].startswith("Done in ")


def test_progress_on_a_terminal_is_one_line_updated_in_place(
    env: dict[str, str], tmp_path: Path, slow_emulator: RunningEmulator
) -> None:
    env = {**env, "WAVESPEED_BASE_URL": slow_emulator.base_url}
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [str(KLEIN), "generate", "a fox", "-W", "256", "-H", "256", "-s", "1"],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
        cwd=tmp_path,
    ) as process:
        os.close(terminal)
        shown = b""
        while chunk := _read(controller):
            shown += chunk
        assert process.wait(timeout=60) == 0
    os.close(controller)
    text = shown.decode().replace("\r\n", "\n")  # the terminal's own line ends
    progress, done = text.split("Done in ", 1)
    assert progress.count("\rGenerating…") >= 2  # redrawn as the seconds go by...
    assert "\n" not in progress  # ...on one line,
    assert progress.endswith("\r")  # which the done line then replaces
    assert "$0.008 simulated" in done.splitlines()[0]


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # the other end closed (EIO on Linux)
        return b""


# --- -o and the gallery --------------------------------------------------------------------


def test_out_is_the_only_file_and_the_gallery_copy_is_named(
    env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run(["generate", "a fox", "-W", "256", "-H", "256", "-o", "fox.png"], env, work)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in work.iterdir()] == ["fox.png"]
    (kept,) = [line for line in result.stderr.splitlines() if "gallery" in line]
    gallery_file = Path(kept.removeprefix("also kept in the gallery: "))
    assert gallery_file.is_file()
    assert gallery_file.is_relative_to(tmp_path / "gallery")


def test_with_the_gallery_off_only_the_out_file_exists(env: dict[str, str], tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    off = {**env, "KLEIN_GALLERY": "off", "HOME": str(home), "XDG_DATA_HOME": str(home / "d")}
    result = run(["generate", "a fox", "-W", "256", "-H", "256", "-o", "out/fox.jpg"], off, work)
    assert result.returncode == 0, result.stderr
    assert [str(p.relative_to(work)) for p in work.rglob("*")] == ["out", "out/fox.jpg"]
    assert list(home.rglob("*")) == []
    assert "gallery" not in result.stderr
    with Image.open(work / "out" / "fox.jpg") as image:
        assert image.format == "JPEG"


def test_an_out_that_cannot_be_written_says_where_the_image_is(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("not a folder")
    result = run(["generate", "a fox", "-W", "256", "-o", "afile/x.png"], env, tmp_path)
    assert result.returncode == 11
    assert "could not be written" in result.stderr
    kept = result.stderr.split("kept in the gallery: ", 1)[1].strip().rstrip(".")
    assert Path(kept).is_file()


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "extra_env", "code", "words"),
    [
        (["generate", "a fox", "--width", "4096"], {}, 2, "width must be from 256 to 1536"),
        (["generate", "a fox", "--aspect", "wide"], {}, 2, "--aspect must be two whole numbers"),
        (["generate", "a fox", "--aspect", "10:1"], {}, 2, "--aspect 10:1 gives 2560x256: width"),
        (["generate", "a fox", "--aspect", "1:1", "-W", "512", "-H", "512"], {}, 2, "both"),
        (["generate", "   "], {}, 2, "prompt is empty"),
        (["generate", "a fox", "-o", "fox.webp"], {}, 2, "ending in .png, .jpg or .jpeg"),
        (
            ["generate", "a fox"],
            {"WAVESPEED_API_KEY": "", "WAVESPEED_BASE_URL": "https://api.wavespeed.ai"},
            3,
            "export WAVESPEED_API_KEY=",
        ),
    ],
)
def test_errors_have_exit_codes_and_one_line(
    env: dict[str, str],
    tmp_path: Path,
    live_emulator: RunningEmulator,
    args: list[str],
    extra_env: dict[str, str],
    code: int,
    words: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = len(live_emulator.emulator.requests)
    result = in_process(args, {**env, **extra_env}, tmp_path, monkeypatch)
    assert result.returncode == code
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(live_emulator.emulator.requests) == before  # nothing was sent


def test_a_missing_key_offers_only_terminal_steps(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_key = {**env, "WAVESPEED_API_KEY": "", "WAVESPEED_BASE_URL": "https://api.wavespeed.ai"}
    result = in_process(["generate", "a fox"], no_key, tmp_path, monkeypatch)
    assert result.returncode == 3
    assert "set_api_key" not in result.stderr
    assert "use_emulator" not in result.stderr
    assert "`klein emulator`" in result.stderr
    assert "export WAVESPEED_BASE_URL=" in result.stderr


def test_a_server_that_wants_a_key_says_export_it(env: dict[str, str], tmp_path: Path) -> None:
    with start(port=0, inference_time=0.05, api_key="only-this") as locked:
        no_key = {**env, "WAVESPEED_API_KEY": "", "WAVESPEED_BASE_URL": locked.base_url}
        result = run(["generate", "a fox", "-W", "256", "-H", "256"], no_key, tmp_path)
        enhance = run(["enhance", "a fox"], no_key, tmp_path)
    for done in (result, enhance):
        assert done.returncode == 3
        assert "wants an API key (401)" in done.stderr
        assert "export WAVESPEED_API_KEY=" in done.stderr
        assert "set_api_key" not in done.stderr


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


@pytest.mark.parametrize("command", [[], ["generate"], ["enhance"]])
def test_every_help_lists_every_exit_code(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = in_process([*command, "--help"], dict(os.environ), tmp_path, monkeypatch)
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: klein {' '.join(command)}".rstrip() + " ")
    codes = result.stdout.split("exit codes:", 1)[1]
    for code, words in [(2, "InvalidRequestError"), (10, "klein-widget[emulator]"), (130, "C")]:
        assert f"  {code:<4} " in codes
        assert words in codes


def test_connect_without_the_emulator_extra_says_how_to_get_it(tmp_path: Path) -> None:
    # sys.modules[name] = None makes the import fail exactly as an absent package does.
    code = "import sys; sys.modules['starlette'] = None; import klein_widget as k; k.connect()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "WAVESPEED_API_KEY"},
    )
    assert result.returncode != 0
    assert 'pip install "klein-widget[emulator]"' in result.stderr


@pytest.mark.parametrize("missing", ["starlette", "uvicorn"])
def test_klein_emulator_without_the_extra_has_its_own_exit_code(
    missing: str, tmp_path: Path
) -> None:
    # A folder first on the path whose package fails to import, as an absent one does.
    blocked = tmp_path / "blocked" / missing
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text(f"raise ImportError('No module named {missing}')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "blocked")}
    result = run(["emulator", "--port", "0"], env, tmp_path)
    assert result.returncode == 10, result.stderr
    assert f"({missing} is not installed)" in result.stderr
    assert '    pip install "klein-widget[emulator]"\n' in result.stderr
    assert "Traceback" not in result.stderr
    assert "No module named" not in result.stderr


def test_a_fixed_seed_comes_back_free_unless_fresh(env: dict[str, str], tmp_path: Path) -> None:
    # A server that answers as a real one (a gateway in front of WaveSpeed): each command is
    # a new client that has not heard from its server yet, and then only a real image may
    # answer it free (an emulator's stand-in would be drawn again, free too).
    args = ["generate", "a quiet harbour", "-W", "256", "-H", "256", "--seed", "5", "-q"]
    with start(port=0, inference_time=0.05, simulated=False) as real:
        env = {**env, "WAVESPEED_BASE_URL": real.base_url}
        first = run([*args, "-o", "one.png"], env, tmp_path)
        again = run([*args, "-o", "two.png"], env, tmp_path)
        fresh = run([*args, "--fresh", "-o", "three.png"], env, tmp_path)
        sent = real.emulator.count("POST")

    assert [r.returncode for r in (first, again, fresh)] == [0, 0, 0], again.stderr
    assert sent == 2  # the repeat was free
    one, two = ((tmp_path / name).read_bytes() for name in ("one.png", "two.png"))
    assert strip_params(one) == strip_params(two)  # the same image as served
    assert read_params(two)["task_id"] == read_params(one)["task_id"]  # type: ignore[index]


def _wait_until_finished(emulator: Emulator, prompt: str, limit: float = 10.0) -> None:
    """Wait (at most ``limit`` s) until the emulator's task for ``prompt`` has finished."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        tasks = [
            t for t in list(emulator.tasks.values()) if t.request and t.request.prompt == prompt
        ]
        if tasks and all(t.status(time.monotonic()) == "completed" for t in tasks):
            return
        time.sleep(0.02)
    raise AssertionError(f"the task for {prompt!r} did not finish in {limit} s")


def test_a_timeout_says_klein_resume_and_klein_resume_fetches_it(
    env: dict[str, str], tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    emulator = live_emulator.emulator
    previous = emulator.inference_time
    emulator.configure(inference_time=1.5)
    try:
        args = ["generate", "a slow owl", "-W", "256", "-H", "256", "--seed", "3"]
        late = run([*args, "--timeout", "0.3"], env, tmp_path)
        submits = emulator.count("POST")
        _wait_until_finished(emulator, "a slow owl")  # the task finishes on the server
        fetched = run(["resume"], env, tmp_path)
    finally:
        emulator.configure(inference_time=previous)

    assert late.returncode == 7, late.stderr  # GenerationTimeoutError
    assert "klein resume" in late.stderr
    assert "klein_widget.resume" not in late.stderr  # a Python call, useless in a terminal
    assert "client.fetch" not in late.stderr
    assert fetched.returncode == 0, fetched.stderr
    assert "1 fetched" in fetched.stderr
    [path] = fetched.stdout.split()
    assert read_params(path)["prompt"] == "a slow owl"  # type: ignore[index]
    assert emulator.count("POST") == submits  # resume submits nothing


@pytest.mark.parametrize(
    ("flag", "never_asked"),
    [
        ("--sync", "/api/v3/predictions/*/result"),  # one request that waits: no polls
        ("--base64", "/emulator/images/*"),  # the image comes inline: no download
    ],
)
def test_sync_and_base64_flags_reach_the_server(
    flag: str, never_asked: str, env: dict[str, str], tmp_path: Path, live_emulator: RunningEmulator
) -> None:
    emulator = live_emulator.emulator
    before = emulator.count("GET", never_asked)
    args = ["generate", f"a heron {flag}", "-W", "256", "-H", "256", "-q", flag, "-o", "h.png"]
    result = run(args, env, tmp_path)

    assert result.returncode == 0, result.stderr
    assert read_params(tmp_path / "h.png")["prompt"] == f"a heron {flag}"  # type: ignore[index]
    assert emulator.count("GET", never_asked) == before
