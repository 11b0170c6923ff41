"""What the dashboard's browser tests share: one Chromium per test module, a logged-in
page that records script errors and dialogs, and strings that would run if anything on a
page were not escaped."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from klein_widget.gateway import RunningGateway
from tests.browser.harness import VIEWPORT, launch_chromium, require_chromium

# Each would run script, break out of an attribute or a tag, or be evaluated by a template
# engine if a page put it in unescaped; `window.pwned` stays undefined while none does.
HOSTILE = (
    "<script>window.pwned = 1</script>",
    "\"><img src=x onerror='window.pwned = 2'>",
    "' onmouseover='window.pwned = 3' x='",
    "</textarea></table><svg onload=window.pwned=4>",
    "{{ 7 * 7 }} {% raw %}",
    "javascript:window.pwned=5",
    '=HYPERLINK("http://x") a/b?c#d %2F..',
)


@pytest.fixture(scope="module", name="chromium")
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright, shared by a module's tests."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class TeacherPage:
    """A browser tab logged in to a gateway's dashboard, with what went wrong in it."""

    context: Any
    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_nothing_ran(self) -> None:
        assert self.page.evaluate("window.pwned") is None
        assert self.errors == []
        assert self.dialogs == []


def teacher_page(chromium: Any, gateway: RunningGateway) -> TeacherPage:
    """Open ``/dashboard?token=...`` in a fresh browser context."""
    context = chromium.new_context(viewport=VIEWPORT)
    page = context.new_page()
    opened = TeacherPage(context, page)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))

    def dialog(d: Any) -> None:
        opened.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(f"{gateway.base_url}/dashboard?token={gateway.gateway.teacher_token}")
    return opened
