"""Operator-grade start-up: a damaged, locked or read-only database, a busy port, an
unwritable image store each stop ``klein gateway serve`` with one sentence, no traceback
and a non-zero exit; ``klein gateway check`` runs the same checks on demand."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway.conftest import KleinRun


def gateway(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``klein gateway ARGS`` as a process of its own (`klein_here`: in this process)."""
    command = [sys.executable, "-m", "klein_widget", "gateway", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=60)


def refused(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert says in lines[0]


SERVE = ("serve", "--upstream", "emulator", "--port", "0", "--db")


def serve(db: Path, *more: str) -> subprocess.CompletedProcess[str]:
    """``klein gateway serve`` on the emulator, as a process of its own."""
    return gateway(*SERVE, str(db), *more, cwd=db.parent)


def test_a_damaged_database_is_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "class.sqlite3"
    db.write_bytes(b"not a database at all " * 200)
    refused(serve(db), "is damaged or not a database")


def test_a_locked_database_is_one_sentence(tmp_path: Path, klein_here: KleinRun) -> None:
    db = tmp_path / "class.sqlite3"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        refused(klein_here(*SERVE, str(db)), "is locked by another program")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only file")
def test_a_read_only_database_is_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "class.sqlite3"
    sqlite3.connect(db).close()
    db.chmod(0o444)
    refused(serve(db), "is read-only")


def test_a_busy_port_is_one_sentence(tmp_path: Path, klein_here: KleinRun) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        done = klein_here("serve", "--db", str(tmp_path / "c.sqlite3"), "--upstream", "emulator",
                          "--port", port)  # fmt: skip
    refused(done, "in use")


def test_an_unwritable_image_store_is_one_sentence(tmp_path: Path, klein_here: KleinRun) -> None:
    (tmp_path / "class-images").write_text("a file where the store's folder goes")
    refused(klein_here(*SERVE, str(tmp_path / "class.sqlite3")), "is not writable")


def test_check_says_ready_or_names_each_problem(tmp_path: Path, klein_here: KleinRun) -> None:
    ok = gateway("check", "--db", str(tmp_path / "class.sqlite3"), "--port", "0", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "ready" in ok.stdout
    assert "open files:" in ok.stdout
    (tmp_path / "bad.sqlite3").write_bytes(b"x" * 4096)
    (tmp_path / "bad-images").write_text("not a folder")
    bad = klein_here("check", "--db", str(tmp_path / "bad.sqlite3"), "--port", "0")
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 2  # the database and the store


def test_upload_caps_come_from_serves_flags(tmp_path: Path, klein_here: KleinRun) -> None:
    from klein_widget.gateway._uploads import UploadLimits
    from klein_widget.gateway.cli import build_parser, upload_limits

    args = build_parser().parse_args(["serve", "--upload-mb", "5", "--uploads-per-hour", "10"])
    assert upload_limits(args) == UploadLimits(
        max_bytes=5 << 20, per_hour=10, bytes_per_hour=50 << 20
    )
    assert upload_limits(build_parser().parse_args(["serve"])) == UploadLimits()
    refused(klein_here(*SERVE, str(tmp_path / "class.sqlite3"), "--upload-mb", "0"),
            "--upload-mb must be")  # fmt: skip
