"""The blocking client is generated from the async one (scripts/unasync.py), so the two
stay line-for-line mirrors: this fails the moment someone edits one and not the other."""

from __future__ import annotations

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
    source = (ROOT / "klein_widget" / "client" / "_async_client.py").read_text()
    target = (ROOT / "klein_widget" / "client" / "_sync_client.py").read_text()
    assert unasync.formatted(unasync.unasync(source)) == target
    edited = source.replace("attempt += 1", "attempt += 2", 1)
    assert unasync.formatted(unasync.unasync(edited)) != target
    assert "await " not in target
    assert "async def" not in target
    assert "class KleinClient(BaseClient):" in target
