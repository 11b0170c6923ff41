"""The teacher sees and collects work: ``klein gateway reissue`` (a new token, the old one
dead at once), a student's budget in ``GET /api/klein/me`` and in every answer's
``data.gateway``, the class's tasks as CSV that a spreadsheet cannot run, and hand-ins
(``klein hand-in``) checked as lesson packs, size-capped and listed on the dashboard."""

from __future__ import annotations

import csv
import io
import socket
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import nbformat
import pytest

from klein_widget import KleinClient
from klein_widget.cli._main import main as klein
from klein_widget.gateway import RunningGateway
from klein_widget.gateway._classwork import HAND_IN_MAX_BYTES
from klein_widget.gateway.cli import main as gateway_cli
from klein_widget.store import open_pack
from klein_widget.ui._text import done_text
from tests.conftest import fast_options
from tests.gateway import loopback

from .conftest import SUBMIT, bearer, body, student_client, wait_result


@contextmanager
def teacher_web(gateway: RunningGateway) -> Iterator[httpx.Client]:
    """An HTTP client logged in to the dashboard (the cookie from the ?token= link)."""
    with httpx.Client(base_url=gateway.base_url) as web:
        web.get("/dashboard", params={"token": gateway.gateway.teacher_token})
        yield web


def made(gateway: RunningGateway, token: str, prompt: str, seed: int) -> dict[str, Any]:
    answer = loopback.post(
        gateway.base_url + SUBMIT, json=body(prompt, seed=seed), headers=bearer(token)
    )
    submitted: dict[str, Any] = answer.json()["data"]
    return submitted


def declares_too_much(gateway: RunningGateway, token: str) -> str:
    """The status line answered to a hand-in that declares more than the cap (none sent)."""
    where = urlsplit(gateway.base_url)
    host, port = where.hostname, where.port
    assert port is not None
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            f"POST /api/klein/hand-in HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer "
            f"{token}\r\nContent-Length: {HAND_IN_MAX_BYTES + 1}\r\n\r\n".encode()
        )
        return sock.recv(4096).decode("latin-1").splitlines()[0]


def test_reissue_prints_a_new_token_and_the_old_one_stops_at_once(
    gateway: RunningGateway, ada: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wait_result(gateway.base_url, ada, made(gateway, ada, "a fox", 1)["id"])
    gateway.gateway.db.revoke("ada")
    db = str(gateway.gateway.db.path)
    assert gateway_cli(["reissue", "ada", "--db", db]) == 0
    new = capsys.readouterr().out.strip()
    assert new.startswith("kgw_")
    assert new != ada
    me = loopback.get(gateway.base_url + "/api/klein/me", headers=bearer(ada))
    assert me.status_code == 401
    me = loopback.get(gateway.base_url + "/api/klein/me", headers=bearer(new))
    assert me.json()["data"]["spent_mills"] == 8  # the same student: spend and images kept
    assert me.json()["data"]["images"] == 1
    assert gateway_cli(["reissue", "nobody", "--db", db]) == 1


def test_a_student_sees_what_is_left_in_me_and_in_every_answer(
    gateway: RunningGateway, ada: str
) -> None:
    me = loopback.get(gateway.base_url + "/api/klein/me", headers=bearer(ada)).json()["data"]
    assert me["name"] == "ada"
    assert (me["budget_mills"], me["spent_mills"], me["budget_left_mills"]) == (2000, 0, 2000)
    first = made(gateway, ada, "a fox", 1)
    assert first["gateway"]["budget_left_mills"] == 1992
    done = wait_result(gateway.base_url, ada, first["id"])
    assert done["gateway"]["budget_left_mills"] == 1992
    again = wait_result(gateway.base_url, ada, made(gateway, ada, "a fox", 1)["id"])
    assert again["gateway"]["cached"] is True
    assert again["gateway"]["budget_left_mills"] == 1992  # a free repeat costs nothing
    me = loopback.get(gateway.base_url + "/api/klein/me", headers=bearer(ada)).json()["data"]
    assert (me["spent_mills"], me["budget_left"]) == (8, "$1.992")
    assert loopback.get(gateway.base_url + "/api/klein/me").status_code == 401

    # The client's status line (panel, %klein, CLI) says it too.
    with student_client(gateway, ada) as client:
        line = done_text(client.generate("a hare", seed=3, width=320, height=256), base_url="")
    assert "class budget $1.984 left · $0.008" in line


def test_the_tasks_csv_lists_every_task_and_no_cell_is_a_formula(gateway: RunningGateway) -> None:
    db = gateway.gateway.db
    evil = db.add_student("@evil", 2000)
    formulas = ('=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0")
    for seed, prompt in enumerate(formulas):
        wait_result(gateway.base_url, evil, made(gateway, evil, prompt, seed)["id"])
    with teacher_web(gateway) as web:
        answer = web.get("/dashboard/tasks.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == len(formulas)
    for row, prompt in zip(rows, formulas, strict=True):
        assert row["prompt"] == "'" + prompt
        assert row["student"] == "'@evil"
        assert row["status"] == "completed"
        assert row["cost_dollars"] == "0.008"
        assert row["image_url"].startswith(gateway.base_url + "/gateway/images/")
        assert row["created_at"] <= row["done_at"]
    assert loopback.get(gateway.base_url + "/dashboard/tasks.csv").status_code == 401


def test_a_hand_in_is_checked_listed_and_downloaded(
    gateway: RunningGateway,
    ada: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gallery = tmp_path / "klein-outputs"  # beside the notebook, as the doors write it
    with KleinClient(ada, gateway.base_url, gallery=gallery, **fast_options()) as client:
        made = [client.generate("a lighthouse", width=320, height=256, seed=s) for s in (1, 2)]
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("client.generate(...)")
    cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": repr(g)}, execution_count=1)
        for g in made
    ]
    notebook.cells = [cell]
    nbformat.write(notebook, tmp_path / "lesson-02.ipynb")
    monkeypatch.setenv("WAVESPEED_BASE_URL", gateway.base_url)
    monkeypatch.setenv("WAVESPEED_API_KEY", ada)
    assert klein(["hand-in", str(tmp_path / "lesson-02.ipynb"), "--title", "lesson 02 <b>"]) == 0
    assert 'handed in "lesson 02 <b>": 2 images' in capsys.readouterr().out

    url = gateway.base_url + "/api/klein/hand-in"
    junk = zipfile.ZipFile(tmp_path / "junk.zip", "w")
    junk.writestr("notes.txt", "not a pack")
    junk.close()
    refused = loopback.post(url, content=(tmp_path / "junk.zip").read_bytes(), headers=bearer(ada))
    assert refused.status_code == 400
    assert "lesson pack" in refused.json()["message"]
    assert declares_too_much(gateway, ada).startswith("HTTP/1.1 413")  # before the body
    assert loopback.post(url, content=b"PK", headers=bearer("kgw_wrong")).status_code == 401
    monkeypatch.setenv("WAVESPEED_API_KEY", "")
    assert klein(["hand-in", str(gallery)]) == 2  # said before anything is sent
    monkeypatch.setenv("WAVESPEED_API_KEY", ada)
    assert klein(["hand-in", str(tmp_path / "junk.zip")]) == 1  # not a pack: not sent

    hand_ins = gateway.gateway.db.hand_ins("ada")
    assert [(h.title, h.images) for h in hand_ins] == [("lesson 02 <b>", 2)]
    with teacher_web(gateway) as web:
        page = web.get("/dashboard").text
        assert "lesson 02 &lt;b&gt;" in page
        link = f"/dashboard/hand-ins/{hand_ins[0].id}.zip"
        assert link in page
        student = web.get(f"/dashboard/students/{gateway.gateway.db.student_ids()['ada']}")
        assert link in student.text
        assert student.text.count("a lighthouse") >= 2  # prompts over time, with times
        download = web.get(link)
    assert download.status_code == 200
    assert "ada-lesson-02--b-.zip" in download.headers["content-disposition"]
    (tmp_path / "got.zip").write_bytes(download.content)
    assert len(open_pack(tmp_path / "got.zip", verify=True)) == 2
    assert loopback.get(gateway.base_url + link).status_code == 401  # the teacher's only
