"""The teacher's login across a gateway restart (a new teacher token each start): a fresh
``?token=`` link beats a stale cookie, a stale cookie is dropped with its 401, and an open
dashboard stops polling and says "the gateway restarted" instead of sending bad
credentials again (curl-like with httpx, and in Chromium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from klein_widget.gateway import RunningGateway, start
from klein_widget.gateway._teacher import TEACHER_COOKIE
from tests.browser.harness import screenshot

from .conftest import FAST
from .dashboard_helpers import chromium_browser, teacher_page  # noqa: F401  (the chromium fixture)


def restarted(running: RunningGateway, db: Path) -> RunningGateway:
    """Stop a gateway and start a new one on the same database and port (a new token)."""
    port = urlsplit(running.base_url).port
    assert port is not None
    running.stop()
    return start(db, port=port, upstream="emulator", emulator_inference_time=FAST)


def test_a_fresh_link_replaces_a_stale_cookie(tmp_path: Path) -> None:
    db = tmp_path / "class.sqlite3"
    first = start(db, upstream="emulator", emulator_inference_time=FAST)
    old = first.gateway.teacher_token
    second = restarted(first, db)
    try:
        new = second.gateway.teacher_token
        assert new != old
        with httpx.Client(base_url=second.base_url, cookies={TEACHER_COOKIE: old}) as web:
            stale = web.get("/dashboard")
            assert stale.status_code == 401
            assert "restarted" in stale.json()["message"]
            dropped = stale.headers["set-cookie"]
            assert dropped.startswith(f'{TEACHER_COOKIE}=""')
            assert "Max-Age=0" in dropped
        with httpx.Client(base_url=second.base_url, cookies={TEACHER_COOKIE: old}) as web:
            login = web.get("/dashboard", params={"token": new})
            assert login.status_code == 303
            assert login.headers["location"] == "/dashboard"
            assert login.headers["set-cookie"].startswith(f"{TEACHER_COOKIE}={new};")
        with httpx.Client(base_url=second.base_url, cookies={TEACHER_COOKIE: new}) as web:
            assert web.get("/dashboard").status_code == 200
            assert web.get("/dashboard/state.json").status_code == 200
    finally:
        second.stop()


@pytest.mark.browser
def test_an_open_dashboard_stops_polling_after_a_restart(
    tmp_path: Path,
    chromium: Any,
) -> None:
    db = tmp_path / "class.sqlite3"
    first = start(db, upstream="emulator", emulator_inference_time=FAST)
    old = first.gateway.teacher_token
    tab = teacher_page(chromium, first)
    page = tab.page
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "state.json" in r.url else None)
    page.wait_for_function("document.getElementById('queue') !== null")
    second = restarted(first, db)
    try:
        banner = page.locator("#restarted")
        banner.wait_for(state="visible", timeout=30_000)  # a restart on a busy machine
        assert "the gateway restarted: open the new link" in banner.inner_text().lower()
        page.wait_for_timeout(4_500)  # two more refresh periods: none may be sent
        assert answers.count(401) == 1
        assert answers[-1] == 401
        screenshot(page, tmp_path / "restarted.png")

        # The new link works in the same browser, even with the old cookie put back.
        host = urlsplit(second.base_url).hostname
        cookie = {"name": TEACHER_COOKIE, "value": old, "domain": host, "path": "/"}
        tab.context.add_cookies([cookie])
        page.goto(f"{second.base_url}/dashboard?token={second.gateway.teacher_token}")
        assert page.url == f"{second.base_url}/dashboard"
        page.locator("#students").wait_for()
        assert page.locator("#restarted").is_hidden()
        tab.context.close()
    finally:
        second.stop()
