"""Images WaveSpeed flags (``has_nsfw_contents``; the emulator with ``nsfw_rate=1.0``)
are blurred and marked "flagged" on the dashboard until the teacher presses Show, and keep
their flag in the lesson pack; an image the teacher hides from the class is served to
nobody else, never answered from the store, and left out of the dashboard's and the CLI's
lesson packs. Screenshots: ``flagged.png``, ``shown.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from klein_widget.emulator import Faults
from klein_widget.gateway import RunningGateway
from klein_widget.gateway.cli import main as gateway_cli
from klein_widget.store import open_pack
from tests.browser.harness import screenshot
from tests.gateway import loopback

from .conftest import SUBMIT, bearer, body, upstream_of, wait_result
from .dashboard_helpers import chromium_browser, teacher_page  # noqa: F401  (the chromium fixture)

BLUR = "getComputedStyle(document.querySelector('#gallery figure.flagged img')).filter"


def make(gateway: RunningGateway, token: str, prompt: str, seed: int) -> dict[str, Any]:
    asked = body(prompt, seed=seed)
    made = loopback.post(gateway.base_url + SUBMIT, json=asked, headers=bearer(token))
    return wait_result(gateway.base_url, token, made.json()["data"]["id"])


@pytest.mark.browser
def test_flagged_images_are_blurred_until_show_and_keep_their_flag_in_the_pack(
    gateway: RunningGateway, ada: str, bo: str, chromium: Any, tmp_path: Path
) -> None:
    make(gateway, ada, "a calm harbour", 1)
    upstream_of(gateway).configure(faults=Faults(nsfw_rate=1.0))
    flagged = make(gateway, bo, "a flagged harbour", 2)
    assert flagged["has_nsfw_contents"] == [True]

    tab = teacher_page(chromium, gateway)
    page = tab.page
    figure = page.locator("#gallery figure.flagged")
    assert figure.count() == 1
    task = gateway.gateway.db.task(flagged["id"])
    assert task is not None
    assert task.upstream_id is not None
    assert gateway.gateway.db.nsfw_flags([task.upstream_id]) == {task.upstream_id: True}
    assert "a flagged harbour" in figure.inner_text()
    assert "flagged" in figure.locator(".mark").inner_text()
    assert "blur" in page.evaluate(BLUR)
    assert (
        page.locator("#gallery figure:not(.flagged) img").evaluate(
            "i => getComputedStyle(i).filter"
        )
        == "none"
    )
    figure.locator("img").click()  # a blurred image does not open enlarged
    assert page.locator("#lightbox").is_hidden()
    screenshot(page, tmp_path / "flagged.png")
    figure.get_by_role("button", name="Show", exact=True).click()
    assert page.evaluate(BLUR) == "none"
    figure.locator("img").click()
    page.locator("#lightbox").wait_for(state="visible")
    screenshot(page, tmp_path / "shown.png")
    page.locator("#lightbox").click()
    figure.get_by_role("button", name="Hide", exact=True).click()
    assert "blur" in page.evaluate(BLUR)

    # On the student's own page too.
    page.locator("#students a", has_text="bo").click()
    assert "blur" in page.evaluate(
        "getComputedStyle(document.querySelector('#tasks figure.flagged img')).filter"
    )
    tab.assert_nothing_ran()
    tab.context.close()

    with httpx.Client(base_url=gateway.base_url) as web:
        web.get("/dashboard", params={"token": gateway.gateway.teacher_token})
        (tmp_path / "class.zip").write_bytes(web.get("/dashboard/pack.zip").content)
    flags = {
        e.request.prompt: e.nsfw for e in open_pack(tmp_path / "class.zip", verify=True).entries
    }
    assert flags == {"a calm harbour": False, "a flagged harbour": True}


@pytest.mark.browser
def test_an_image_hidden_from_the_class_is_not_served_reused_or_exported(
    gateway: RunningGateway, ada: str, bo: str, chromium: Any, tmp_path: Path
) -> None:
    make(gateway, ada, "a calm harbour", 1)
    upstream_of(gateway).configure(faults=Faults(nsfw_rate=1.0))
    hidden = make(gateway, ada, "a flagged harbour", 2)
    link = hidden["outputs"][0]
    assert loopback.get(link).status_code == 200

    tab = teacher_page(chromium, gateway)
    figure = tab.page.locator("#gallery figure", has_text="a flagged harbour")
    figure.get_by_role("button", name="Hide from class").click()
    tab.page.wait_for_url(f"{gateway.base_url}/dashboard")
    figure = tab.page.locator("#gallery figure.hidden-image")
    assert "hidden from class" in figure.inner_text()
    figure.get_by_role("button", name="Show", exact=True).click()  # the teacher still sees it
    tab.page.wait_for_function(
        "document.querySelector('#gallery figure.hidden-image img').naturalWidth === 320"
    )
    tab.assert_nothing_ran()
    tab.context.close()

    db = gateway.gateway.gallery.path.with_name("class.sqlite3")
    assert gateway_cli(["export-pack", "--db", str(db), "-o", str(tmp_path / "cli.zip")]) == 0
    exported = open_pack(tmp_path / "cli.zip", verify=True)
    assert [e.request.prompt for e in exported.entries] == ["a calm harbour"]

    assert loopback.get(link).status_code == 404  # nobody else gets the hidden image
    again = make(gateway, bo, "a flagged harbour", 2)  # the same request: made anew, paid
    assert again["gateway"]["cached"] is False
    assert again["gateway"]["cost"] == 0.008
    kept = make(gateway, bo, "a calm harbour", 1)  # one not hidden still comes from the store
    assert kept["gateway"]["cached"] is True
    assert gateway_cli(["export-pack", "--db", str(db), "-o", str(tmp_path / "again.zip")]) == 0
    exported = open_pack(tmp_path / "again.zip", verify=True)  # bo's new one is not hidden
    assert sorted(e.nsfw for e in exported.entries) == [False, True]
