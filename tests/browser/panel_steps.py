"""What a user does with the klein panel in a browser, shared by the Lab and Voila tests.

The kernel talks to a loopback emulator started by the test; the browser types a prompt,
sets a size and seed, clicks Generate, and checks what the page shows: an image of exactly
that size, the done status and a snippet carrying the seed. A second image follows, then
clicking the first one's thumbnail must restore its prompt, size, seed, image and snippet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from klein_widget.emulator import start

from .harness import (
    VIEWPORT,
    KernelProbe,
    click_button,
    fill_text,
    set_slider,
    wait_image_size,
)

PANEL_CELL = "import klein_widget\npanel = klein_widget.panel()\npanel"
FIRST = ("a red fox <in> the snow", 768, 512, 42)
SECOND = ("a lighthouse at dusk", 512, 768, 43)
BROWSER_KEY = "browser-test-key"


@contextmanager
def emulator_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A loopback emulator, and the environment that points a Jupyter server's kernels at it."""
    running = start(port=0, inference_time=0.3)
    try:
        yield {
            "WAVESPEED_BASE_URL": running.base_url,
            "WAVESPEED_API_KEY": BROWSER_KEY,
            "KLEIN_GALLERY": str(tmp_path / "gallery"),
        }
    finally:
        running.stop()


def _seed_input(panel: Any) -> Any:
    return panel.locator(".widget-text input").first


def make_image(
    panel: Any, kernel: KernelProbe, prompt: str, width: int, height: int, seed: int
) -> None:
    """Fill the controls, wait until the kernel has them, click Generate, check the result."""
    fill_text(panel.locator(".widget-textarea textarea"), prompt)
    set_slider(panel, width, nth=0)
    set_slider(panel, height, nth=1)
    fill_text(_seed_input(panel), str(seed))
    # The front end throttles value updates but sends clicks at once: wait for the kernel.
    kernel.wait_for("panel.prompt", prompt)
    kernel.wait_for("[panel.width, panel.height, panel.seed]", [width, height, seed])
    click_button(panel, "Generate")
    assert wait_image_size(panel, width, height, nth=0) == (width, height)
    status = panel.locator(".klein-ok").first
    expect(status).to_contain_text(re.compile(r"Done in \d+\.\d+ s \(inference 0\.\d+ s\)"))
    expect(status).to_contain_text(f"seed {seed} · {width}×{height} · $0.008")
    expect(panel.locator(".klein-code").first).to_contain_text(f"seed={seed},")


def panel_screenshot(page: Any, panel: Any, path: Path) -> None:
    """Screenshot the whole panel: grow the viewport so no scroll area clips it."""
    height = int(panel.evaluate("el => el.getBoundingClientRect().height"))
    page.set_viewport_size(
        {"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], height + 400)}
    )
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def drive_panel(page: Any, panel: Any, kernel: KernelProbe, shots: Path) -> None:
    """Two images, then restore the first from its thumbnail; screenshots along the way."""
    expect(panel.locator(".klein-line")).to_contain_text("Ready.")
    make_image(panel, kernel, *FIRST)
    make_image(panel, kernel, *SECOND)
    thumbs = panel.locator(".klein-thumb")
    expect(thumbs).to_have_count(2)
    expect(panel).to_contain_text("2 images · $0.016")
    panel_screenshot(page, panel, shots / "panel-two-images.png")

    prompt, width, height, seed = FIRST
    thumbs.nth(1).locator(".widget-button").click()  # newest first: the first image is second

    expect(panel.locator(".widget-textarea textarea")).to_have_value(prompt)
    expect(panel.locator(".widget-readout").nth(0)).to_have_text(str(width))
    expect(panel.locator(".widget-readout").nth(1)).to_have_text(str(height))
    expect(_seed_input(panel)).to_have_value(str(seed))
    assert wait_image_size(panel, width, height, nth=0) == (width, height)
    expect(panel.locator(".klein-code").first).to_contain_text(f"seed={seed},")
    expect(panel.locator(".klein-line").first).to_contain_text("Restored image #1")
    kernel.wait_for("[panel.prompt, panel.width, panel.height, panel.seed]", list(FIRST))
    # The key never reaches the page.
    assert BROWSER_KEY not in page.content()
    panel_screenshot(page, panel, shots / "panel-restored.png")
