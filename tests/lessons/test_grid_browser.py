"""The grids in a real browser: an 800-px-wide page (a notebook column) never scrolls sideways.

Debian's Chromium through Playwright (see tests/browser/harness.py), on a plain page served
over loopback from a temporary folder: the saved HTML alone, no kernel and no Jupyter, as a
notebook opened on GitHub or nbviewer would show it. A screenshot is saved per page.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from klein_widget import KleinClient
from klein_widget.lessons._compare import compare
from tests.browser.harness import launch_chromium

pytestmark = pytest.mark.browser

WIDTH = 800  # px: a notebook column


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over loopback, and its URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(chromium: Any, url: str, shot: Path) -> dict[str, Any]:
    context = chromium.new_context(viewport={"width": WIDTH, "height": 900})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function(
            "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        result: dict[str, Any] = page.evaluate(
            """() => {
                const root = document.documentElement;
                const labels = [...document.querySelectorAll('th[scope="row"]')];
                const lines = (el) => {  // distinct line tops of the label's text
                    const range = document.createRange();
                    range.selectNodeContents(el);
                    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
                };
                const tiles = document.querySelector('.klein-grid [style*="display: grid"]');
                return {
                    scrollWidth: root.scrollWidth,
                    clientWidth: root.clientWidth,
                    widest: Math.max(...[...document.querySelectorAll('.klein-grid, table, img')]
                        .map(e => e.getBoundingClientRect().right)),
                    labelWidths: labels.map(l => l.getBoundingClientRect().width),
                    labelLines: labels.map(lines),
                    images: [...document.images].map(i => [i.naturalWidth, i.width]),
                    tileColumns: tiles ? getComputedStyle(tiles).gridTemplateColumns
                        .split(' ').length : 0,
                };
            }"""
        )
        return result
    finally:
        context.close()


def page_with(folder: Path, name: str, body: str) -> str:
    (folder / name).write_text(
        f'<!doctype html><html><head><meta charset="utf-8"></head><body>{body}</body></html>',
        encoding="utf-8",
    )
    return name


def test_a_two_by_three_grid_fits_800_px_with_readable_labels(
    chromium: Any, served: tuple[Path, str], client: KleinClient
) -> None:
    folder, url = served
    result = compare(
        ["a lighthouse", "a lighthouse at night, oil painting, dramatic clouds over the sea"],
        seeds=[1, 2, 3],
        width=512,
        height=512,
        client=client,
        display=False,
    )
    html = str(result.grid())
    assert "<script" not in html  # static: nothing to run, images inline
    name = page_with(folder, "grid.html", html)
    found = measure(chromium, f"{url}/{name}", folder / "grid-800.png")
    assert found["scrollWidth"] <= found["clientWidth"] == WIDTH  # no horizontal scrollbar
    assert found["widest"] <= WIDTH
    assert len(found["images"]) == 6
    assert all(shown > 150 for _, shown in found["images"])  # scaled, still a picture
    # Row labels keep room to be read: never a letter per line.
    assert min(found["labelWidths"]) >= 140
    assert max(found["labelLines"]) <= 6


def test_count_four_wraps_into_two_by_two_at_800_px(
    chromium: Any, served: tuple[Path, str], client: KleinClient
) -> None:
    folder, url = served
    # What %klein a fox -n 4 shows: compare's tiles.
    tiles = compare(
        "a fox", [1, 2, 3, 4], width=512, height=512, client=client, display=False, tiles=True
    )
    name = page_with(folder, "tiles.html", str(tiles.grid()))
    found = measure(chromium, f"{url}/{name}", folder / "tiles-800.png")
    assert found["scrollWidth"] <= found["clientWidth"]
    assert found["tileColumns"] == 2
    assert len(found["images"]) == 4
