"""The dashboard's pages render through templates with autoescape: every field a student
or a link controls (names, prompts, tokens in links, budgets, the page to go back to) is
fed strings that would run if unescaped, and Chromium shows them as text with no script
run. Names with ``/`` and other URL-unsafe characters are revoked and re-budgeted from the
page (students are addressed by number). Screenshots: ``hostile.png``, ``student.png``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from klein_widget.gateway import RunningGateway
from klein_widget.gateway._state import export_pack
from tests.browser.harness import screenshot
from tests.gateway import loopback

from .conftest import SUBMIT, bearer, body, wait_result
from .dashboard_helpers import HOSTILE, chromium_browser, teacher_page  # noqa: F401  (the chromium fixture)

pytestmark = pytest.mark.browser
SLASHED = "6/b ?x=1#top %2F.."


def test_every_field_shows_hostile_text_literally_and_runs_nothing(
    gateway: RunningGateway,
    chromium: Any,
    tmp_path: Path,
) -> None:
    db = gateway.gateway.db
    tokens = []
    for n, text in enumerate(HOSTILE):
        tokens.append(db.add_student(text, 2000))
        made = loopback.post(
            gateway.base_url + SUBMIT, json=body(text, seed=n), headers=bearer(tokens[-1])
        ).json()
        wait_result(gateway.base_url, tokens[-1], made["data"]["id"])
    db.add_student(SLASHED, 2000)
    pack = export_pack(gateway.gateway.gallery.path, tmp_path / "pack.zip")
    assert len(pack["images"]) == len(HOSTILE)
    for token, text in zip(tokens, HOSTILE, strict=True):  # hand-in titles too
        handed = loopback.post(
            gateway.base_url + "/api/klein/hand-in",
            params={"title": text},
            content=(tmp_path / "pack.zip").read_bytes(),
            headers=bearer(token),
        )
        assert handed.status_code == 200

    tab = teacher_page(chromium, gateway)
    page = tab.page
    students = page.locator("#students").inner_text()
    gallery = page.locator("#gallery").inner_text()
    hand_ins = page.locator("#hand-ins").inner_text()
    for text in HOSTILE:
        assert text in students  # the name, as typed
        assert text in gallery  # the prompt and the owner's name
        assert hand_ins.count(text) >= 2  # the hand-in's title and its student
    shown = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "", students + gallery + hand_ins)
    assert "49" not in shown  # "{{ 7 * 7 }}" shown, not evaluated (times aside: 16:55:49)
    assert page.locator("#gallery img").count() == len(HOSTILE)
    tab.assert_nothing_ran()
    screenshot(page, tmp_path / "hostile.png")

    # A name with "/", "?", "#" and "%2F" is re-budgeted and revoked by the page's own forms.
    row = page.locator("#students tr", has_text=SLASHED)
    row.locator("input[name=budget]").fill("3.50")
    row.get_by_role("button", name="Set budget").click()
    page.wait_for_url(f"{gateway.base_url}/dashboard")
    assert db.student(SLASHED).budget_mills == 3500  # type: ignore[union-attr]
    page.locator("#students tr", has_text=SLASHED).get_by_role("button", name="Revoke").click()
    page.locator("td.revoked", has_text=SLASHED).wait_for()
    assert db.student(SLASHED).revoked  # type: ignore[union-attr]

    # Each student's own page: the name and the prompt as text.
    for text in HOSTILE:
        page.locator("#students a", has_text=text).first.click()
        page.wait_for_url("**/dashboard/students/*")
        assert page.locator("h1").inner_text() == text.strip()
        assert text in page.locator("#tasks").inner_text()
        tab.assert_nothing_ran()
        page.go_back()
    page.locator("#students a", has_text=HOSTILE[1]).first.click()
    screenshot(page, tmp_path / "student.png")
    tab.context.close()


def test_hostile_links_and_budgets_are_refused_or_shown_as_text(gateway: RunningGateway) -> None:
    teacher = gateway.gateway.teacher_token
    with httpx.Client(base_url=gateway.base_url) as web:
        for text in HOSTILE:
            answer = web.get("/dashboard", params={"token": text})
            assert answer.status_code == 401
            assert answer.headers["content-type"] == "application/json"  # never an HTML page
            assert text not in answer.text
        assert web.get("/dashboard", params={"token": teacher}).status_code == 303
        page = web.get("/dashboard")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text  # the page's only script is a file of its own
        number = 1 + 0 * gateway.gateway.db.add_student("ada", 2000).count("x")
        for text in HOSTILE:
            refused = web.post(f"/dashboard/students/{number}/budget", data={"budget": text})
            assert refused.status_code == 400
            assert text not in refused.text
        # Back to this server's dashboard only, whatever "back" says.
        for text in (*HOSTILE, "//evil.example/dashboard", "/dashboard/static/x"):
            moved = web.post(
                f"/dashboard/students/{number}/budget", params={"back": text}, data={"budget": "1"}
            )
            assert moved.status_code == 303
            assert moved.headers["location"] == "/dashboard"
