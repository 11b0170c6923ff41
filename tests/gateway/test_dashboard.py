"""The teacher's dashboard in Debian's Chromium (Playwright): spend and budgets, the live
queue, the class gallery with click-to-enlarge, the pack export, budget and revoke controls.
Screenshots go to the test's temporary folder (``dashboard.png``, ``enlarged.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from klein_widget.gateway import RunningGateway
from klein_widget.store import open_pack
from tests.browser.harness import VIEWPORT, screenshot
from tests.gateway import loopback

from .conftest import SUBMIT, bearer, body, student_client, upstream_of, wait_result
from .dashboard_helpers import chromium_browser  # noqa: F401  (the chromium fixture)

pytestmark = pytest.mark.browser
HOSTILE = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"


def test_the_dashboard_shows_spend_queue_gallery_and_controls(
    gateway: RunningGateway,
    ada: str,
    bo: str,
    chromium: Any,
    tmp_path: Path,
) -> None:
    with student_client(gateway, ada) as client:
        for seed in (1, 2):
            client.generate("a lighthouse at dusk, oil painting", width=320, height=256, seed=seed)
    made = loopback.post(gateway.base_url + SUBMIT, json=body(HOSTILE, seed=3), headers=bearer(bo))
    wait_result(gateway.base_url, bo, made.json()["data"]["id"])
    upstream_of(gateway).configure(inference_time=30.0)  # two more stay in the live queue
    for seed in (4, 5):
        loopback.post(
            gateway.base_url + SUBMIT, json=body("a slow fox", seed=seed), headers=bearer(bo)
        )

    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{gateway.base_url}/dashboard?token={gateway.gateway.teacher_token}")
    assert page.url == f"{gateway.base_url}/dashboard"  # the token left the address bar
    rows = page.locator("table").first.locator("tr")
    assert rows.count() == 3
    assert "$0.016" in rows.nth(1).inner_text()  # ada: two images
    assert "$2.000" in rows.nth(1).inner_text()
    assert "class spend $0.040 simulated" in page.locator("header").inner_text()
    page.locator("#queue tr").first.wait_for()
    page.wait_for_function("document.querySelectorAll('#queue tr').length === 2")
    queue = page.locator("#queue").inner_text()
    assert queue.count("bo") == 2
    assert "a slow fox" in queue
    figures = page.locator("#gallery figure")
    assert figures.count() == 3
    page.wait_for_function(
        "[...document.querySelectorAll('#gallery img')].every(i => i.naturalWidth === 320)"
    )
    assert HOSTILE in page.locator("#gallery").inner_text()  # shown as text, never run
    assert page.evaluate("window.pwned") is None
    screenshot(page, tmp_path / "dashboard.png")

    figures.last.locator("img").click()
    box = page.locator("#lightbox")
    box.wait_for(state="visible")
    assert "seed 1" in box.inner_text()
    assert "ada" in box.inner_text()
    screenshot(page, tmp_path / "enlarged.png")
    box.click()
    box.wait_for(state="hidden")

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export as a lesson pack").click()
    download = waiting.value
    assert download.suggested_filename == "class-pack.zip"
    download.save_as(tmp_path / "class-pack.zip")
    assert len(open_pack(tmp_path / "class-pack.zip", verify=True)) == 3

    bo_row = rows.nth(2)
    bo_row.locator("input[name=budget]").fill("5.00")
    bo_row.get_by_role("button", name="Set budget").click()
    page.wait_for_url(f"{gateway.base_url}/dashboard")
    assert gateway.gateway.db.student("bo").budget_mills == 5000  # type: ignore[union-attr]
    page.locator("table").first.locator("tr").nth(1).get_by_role(
        "button", name="revoke ada"
    ).click()
    page.locator("td.revoked", has_text="ada").wait_for()
    assert gateway.gateway.db.student("ada").revoked  # type: ignore[union-attr]
    assert errors == []
    context.close()

    stranger = chromium.new_context()
    answer = stranger.new_page().goto(f"{gateway.base_url}/dashboard")
    assert answer.status == 401
    assert "teacher token" in answer.text()
    stranger.close()
