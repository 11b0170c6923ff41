"""Students and tokens: the CLI that manages them, and what a bad token gets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from klein_widget.gateway import ClassDB, RunningGateway
from klein_widget.gateway._tokens import FailedLogins
from tests.gateway import loopback

from .conftest import SUBMIT, KleinRun, bearer, body


def klein(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``klein gateway ARGS`` as a process of its own (`klein_here`: in this process)."""
    return subprocess.run(
        [sys.executable, "-m", "klein_widget", "gateway", *args],
        capture_output=True, text=True, cwd=cwd, timeout=60,
    )  # fmt: skip


def test_the_cli_adds_lists_revokes_budgets_and_imports(
    tmp_path: Path, klein_here: KleinRun
) -> None:
    db = str(tmp_path / "class.sqlite3")
    added = klein("add-student", "ada", "--budget", "2.00", "--db", db, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("kgw_")
    assert len(token) > 30
    roster = tmp_path / "roster.csv"
    roster.write_text("name,budget\nbo,1.50\ncy,0.80\n")
    imported = klein_here("import", str(roster), "--db", db)
    assert imported.returncode == 0, imported.stderr
    lines = dict(line.split(",") for line in imported.stdout.split())
    assert set(lines) == {"bo", "cy"}
    assert all(t.startswith("kgw_") for t in lines.values())
    assert klein_here("set-budget", "bo", "5.00", "--db", db).returncode == 0
    assert klein_here("revoke", "cy", "--db", db).returncode == 0
    listed = klein_here("list", "--db", db).stdout
    assert "ada" in listed
    assert "$   2.000" in listed
    assert "bo" in listed
    assert "$   5.000" in listed
    assert "cy" in listed
    assert "revoked" in listed
    # Only hashes are stored: no token is anywhere in the database files.
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("class.sqlite3*"))
    for t in (token, *lines.values()):
        assert t.encode() not in raw
    store = ClassDB(db)
    assert store.student_by_token(lines["bo"]).name == "bo"  # type: ignore[union-attr]
    assert store.student_by_token(lines["cy"]).revoked  # type: ignore[union-attr]


def test_the_cli_refuses_bad_input(tmp_path: Path, klein_here: KleinRun) -> None:
    db = str(tmp_path / "class.sqlite3")
    assert klein_here("add-student", "ada", "--db", db).returncode == 0
    again = klein_here("add-student", "ada", "--db", db)
    assert again.returncode == 1
    assert "already a student called 'ada'" in again.stderr
    assert klein_here("set-budget", "ada", "-1", "--db", db).returncode == 2
    missing = klein_here("revoke", "nobody", "--db", db)
    assert missing.returncode == 1
    assert "no student called 'nobody'" in missing.stderr
    upstream = klein("serve", "--db", db, "--port", "0", cwd=tmp_path)  # no key, real upstream
    assert upstream.returncode == 2
    assert "WAVESPEED_API_KEY" in upstream.stderr


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "No class token was sent"),
        ({"Authorization": "Basic abc"}, "No class token was sent"),
        (bearer("kgw_not-a-real-token"), "not one of this class's"),
    ],
)
def test_a_missing_or_unknown_token_is_told_to_ask_the_teacher(
    gateway: RunningGateway, ada: str, headers: dict[str, str], says: str
) -> None:
    r = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=headers)
    assert r.status_code == 401
    answer = r.json()
    assert answer["code"] == 401
    assert answer["data"] is None
    assert says in answer["message"]
    assert "teacher" in answer["message"]


def test_a_revoked_token_stops_at_once(gateway: RunningGateway, ada: str) -> None:
    assert (
        loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer(ada)).status_code
        == 200
    )
    gateway.gateway.db.revoke("ada")
    r = loopback.post(gateway.base_url + SUBMIT, json=body(seed=3), headers=bearer(ada))
    assert r.status_code == 401
    assert "turned off by your teacher" in r.json()["message"]


def test_a_wrong_token_is_held_back_without_locking_out_anyone_else(
    gateway: RunningGateway, ada: str
) -> None:
    gateway.gateway.logins = FailedLogins(limit=5, window=60)
    stale = bearer("kgw_a-stale-token")
    codes = [
        loopback.post(gateway.base_url + SUBMIT, json=body(), headers=stale).status_code
        for _ in range(8)
    ]
    assert codes == [401] * 5 + [429] * 3
    blocked = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=stale)
    assert int(blocked.headers["retry-after"]) >= 1
    assert "try again in" in blocked.json()["message"]
    # Same address, another (wrong) token: its own count; a right token: always served.
    other = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer("kgw_other"))
    assert other.status_code == 401
    served = loopback.post(gateway.base_url + SUBMIT, json=body(), headers=bearer(ada))
    assert served.status_code == 200


def test_serve_prints_the_url_the_teacher_link_and_the_export_line(
    tmp_path: Path, klein_here: KleinRun
) -> None:
    db = str(tmp_path / "class.sqlite3")
    token = klein_here("add-student", "ada", "--db", db).stdout.strip()
    server = subprocess.Popen(
        [sys.executable, "-m", "klein_widget", "gateway", "serve", "--db", db, "--port", "0",
         "--upstream", "emulator"],
        stdout=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(5)]
        base = lines[0].split("listening on ", 1)[1].split()[0]
        assert base.startswith("http://127.0.0.1:")
        assert "(upstream: the built-in emulator)" in lines[0]
        assert lines[1].startswith(f"teacher dashboard: {base}/dashboard?token=kgw_")
        assert lines[3].strip() == f"export WAVESPEED_BASE_URL={base}"
        assert lines[4].strip() == "export WAVESPEED_API_KEY=<their token>"
        answer = loopback.post(base + SUBMIT, json=body(), headers=bearer(token), timeout=30)
        assert answer.status_code == 200
        teacher = lines[1].split("token=", 1)[1].strip()
        page = loopback.get(f"{base}/dashboard", cookies={"klein_teacher": teacher}, timeout=30)
        assert "ada" in page.text
    finally:
        server.terminate()
        server.wait(20)


def test_dashboard_token_guessing_is_rate_limited_by_the_same_rule(
    gateway: RunningGateway,
) -> None:
    gateway.gateway.logins = FailedLogins(limit=3, window=60)
    codes = [
        loopback.get(f"{gateway.base_url}/dashboard?token=kgw_stale").status_code for _ in range(5)
    ]
    assert codes == [401] * 3 + [429] * 2
    teacher = gateway.gateway.teacher_token
    assert loopback.get(f"{gateway.base_url}/dashboard?token={teacher}").status_code == 303  # in
    blocked = loopback.get(f"{gateway.base_url}/dashboard?token=kgw_stale")
    assert blocked.status_code == 429
    assert "with the teacher token" in blocked.json()["message"]
    assert int(blocked.headers["retry-after"]) >= 1
