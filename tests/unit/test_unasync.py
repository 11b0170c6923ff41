"""The blocking client and batch runner are generated from the async ones
(scripts/unasync.py), so each pair stays a line-for-line mirror: this fails the moment
someone edits one side and not the other."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "unasync.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_sync_client_is_what_the_async_client_generates() -> None:
    done = run("--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_check_catches_an_edit_to_one_side(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import unasync
    finally:
        sys.path.remove(str(SCRIPT.parent))
    for source_path, target_path, header in unasync.PAIRS:
        source, target = source_path.read_text(), target_path.read_text()
        assert unasync.formatted(unasync.unasync(source, header), target_path) == target
        assert "await " not in target
        assert "async def" not in target
    loops_source, loops_target, loops_header = unasync.PAIRS[1]
    edited = loops_source.read_text().replace("attempt += 1", "attempt += 2", 1)
    assert unasync.formatted(unasync.unasync(edited, loops_header)) != loops_target.read_text()
    assert "class KleinClient(SyncTasks):" in unasync.TARGET.read_text()


def test_each_generated_pair_stays_under_300_lines() -> None:
    """The clients are split along their seams (the calls that make an image; the calls on
    a task by its id; the loops; the uploads), not grown past a readable module."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import unasync
    finally:
        sys.path.remove(str(SCRIPT.parent))
    for source, target, _ in unasync.PAIRS:
        for path in (source, target):
            lines = len(path.read_text().splitlines())
            assert lines < 300, f"{path.name} has {lines} lines"


def test_the_split_keeps_every_public_call_and_its_docstring() -> None:
    from klein_widget import AsyncKleinClient, KleinClient

    calls = ("generate", "edit", "submit", "get_result", "wait", "fetch", "enhance_prompt")
    for name in calls:
        blocking, awaited = getattr(KleinClient, name), getattr(AsyncKleinClient, name)
        assert blocking.__doc__
        assert blocking.__doc__ == awaited.__doc__.replace("await ", "")
        assert inspect.signature(blocking) == inspect.signature(awaited)
