"""The panel's keyboard, seed box, lightbox and lost kernel in a browser (issue 23, items 1-3
and 5; issue 28 item 8's alt text), shared by the Lab, Notebook 7, Voila and marimo tests.

Each check returns the problems it found (an empty list when all is well) instead of
stopping at the first: run against the panel before the fixes, one run lists every item
that was broken; the test asserts the combined list is empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from klein_widget.emulator import RunningEmulator

from .panel_steps import panel_screenshot, set_fields, wait_image

FOCUSED_JS = """() => {
  let node = document.activeElement;  // marimo draws widgets in shadow roots
  while (node && node.shadowRoot && node.shadowRoot.activeElement) {
    node = node.shadowRoot.activeElement;
  }
  const name = (n) => n.getAttribute('aria-label') || n.textContent || n.id || n.tagName;
  return {
    label: node ? name(node) : '',
    inDialog: !!(node && node.closest('[role=dialog]')),
    inPanel: !!(node && node.closest('.klein-panel')),
  };
}"""


def soft(problems: list[str], what: str, check: Callable[[], None]) -> None:
    """Run ``check``; a failed expectation becomes one line of ``problems``."""
    try:
        check()
    except (AssertionError, PlaywrightError) as error:
        problems.append(f"{what}: {str(error).splitlines()[0][:300]}")


def focused(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(FOCUSED_JS))


def make_two(panel: Any) -> None:
    """Two images to step between (seeds 5 and 6), the second shown."""
    for prompt, seed in (("a fox in snow", 5), ("a lighthouse at night", 6)):
        set_fields(panel, prompt, 512, 512, seed)
        panel.get_by_role("button", name="Generate").click()
        expect(panel.locator(".kp-caption")).to_contain_text(f"seed {seed}", timeout=30_000)
    wait_image(panel, 512, 512)


def check_alt_text(panel: Any) -> list[str]:
    """Stand-ins say so in their alt text, in the panel and in its history strip."""
    problems: list[str] = []
    soft(
        problems,
        "alt text of the image",
        lambda: expect(panel.locator("img.kp-image")).to_have_attribute(
            "alt", "emulator stand-in for: a lighthouse at night"
        ),
    )
    soft(
        problems,
        "alt text of the history thumbnails",
        lambda: expect(panel.locator(".klein-thumb img").first).to_have_attribute(
            "alt", re.compile(r"^emulator stand-in for: ")
        ),
    )
    return problems


def check_slider_keys(page: Any, panel: Any) -> list[str]:
    """Arrow keys move a focused slider by one step (16 px) and ↓ keeps focus in it."""
    problems: list[str] = []
    width = panel.get_by_label("Width", exact=True)
    width.fill("512")
    width.focus()

    def arrows() -> None:
        for key, value in (("ArrowRight", 528), ("ArrowRight", 544), ("ArrowLeft", 528)):
            page.keyboard.press(key)
            expect(width).to_have_value(str(value), timeout=3_000)

    def down_stays() -> None:
        page.keyboard.press("ArrowDown")
        expect(width).to_have_value("512", timeout=3_000)
        where = focused(page)
        assert where["inPanel"], where
        assert where["label"] == width.get_attribute("id"), where

    soft(problems, "←/→ on the Width slider", arrows)
    soft(problems, "↓ on the Width slider (stays in the panel)", down_stays)
    return problems


def check_seed_box(panel: Any, emulator: RunningEmulator) -> list[str]:
    """Typed text that is no seed stays, with its error, through a preset and Swap; Generate
    refuses it and sends nothing."""
    problems: list[str] = []
    seed = panel.get_by_label("Seed", exact=True)
    message = panel.locator(".kp-seedmsg")
    sent = emulator.emulator.accepted
    for typed in ("12.5", "4o2"):
        seed.fill(typed)
        expect(message).to_contain_text(typed)

        def keeps(typed: str = typed) -> None:
            panel.get_by_role("button", name="Aspect 16:9").click()
            expect(seed).to_have_value(typed, timeout=3_000)
            panel.get_by_role("button", name="Swap width and height").click()
            expect(seed).to_have_value(typed, timeout=3_000)
            expect(message).to_contain_text(typed, timeout=3_000)
            expect(panel.locator(".kp-badge")).not_to_have_text(re.compile("^Fixed"))

        def refuses(typed: str = typed) -> None:
            panel.get_by_role("button", name="Generate").click()
            expect(message).to_contain_text("Nothing was sent", timeout=3_000)
            expect(panel.get_by_role("progressbar")).to_have_count(0)
            expect(seed).to_have_value(typed)

        soft(problems, f"seed box keeps {typed!r} through a preset and Swap", keeps)
        soft(problems, f"Generate refuses seed {typed!r}", refuses)
    if emulator.emulator.accepted != sent:
        problems.append(f"{emulator.emulator.accepted - sent} image(s) sent from a bad seed box")
    seed.fill("-1")
    return problems


def check_lightbox(page: Any, panel: Any, shots: Path) -> list[str]:
    """A modal dialog: Tab stays inside, ←/→ step through the history, Escape closes, focus
    returns to the Enlarge button."""
    problems: list[str] = []
    dialog = page.get_by_role("dialog", name="The image, enlarged")

    def opens() -> None:
        panel.get_by_role("button", name="Enlarge the image").click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("a lighthouse at night")

    def traps() -> None:
        for _ in range(4):
            page.keyboard.press("Tab")
            where = focused(page)
            assert where["inDialog"], f"Tab left the dialog for {where['label']!r}"
        page.keyboard.press("Shift+Tab")
        assert focused(page)["inDialog"], "Shift+Tab left the dialog"

    def steps() -> None:
        page.keyboard.press("ArrowLeft")
        expect(dialog).to_contain_text("a fox in snow", timeout=10_000)
        expect(panel.get_by_label("Seed", exact=True)).to_have_value("5")
        panel_screenshot(page, panel, shots / "lightbox-stepped.png")
        page.screenshot(path=str(shots / "lightbox-older.png"))
        page.keyboard.press("ArrowRight")
        expect(dialog).to_contain_text("a lighthouse at night", timeout=10_000)

    def closes() -> None:
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0, timeout=3_000)
        assert focused(page)["label"] == "Enlarge the image", focused(page)

    soft(problems, "the lightbox opens", opens)
    soft(problems, "focus trapped in the lightbox", traps)
    soft(problems, "←/→ step through the history in the lightbox", steps)
    soft(problems, "Escape closes the lightbox, focus back on Enlarge", closes)
    if dialog.count():  # leave the page usable for the next checks
        dialog.get_by_role("button", name="Close").click()
    return problems


def check_history_strip(panel: Any) -> list[str]:
    """One Tab stop for the whole strip (arrows move on), and a filter that matches nothing
    says so instead of showing an empty strip under the full count."""
    problems: list[str] = []
    thumbs = panel.locator(".klein-thumb")

    def one_stop() -> None:
        stops = thumbs.evaluate_all("els => els.filter((b) => b.tabIndex >= 0).length")
        assert stops == 1, f"{stops} Tab stops in the history strip"

    def no_match() -> None:
        box = panel.get_by_label("Filter", exact=True)
        box.fill("zebra")
        expect(thumbs).to_have_count(0)
        expect(panel.locator(".kp-nomatch")).to_contain_text('No image\'s prompt contains "zebra"')
        expect(panel.locator(".kp-history")).to_contain_text("0 of 2 images match")
        box.fill("")
        expect(thumbs).to_have_count(2)

    soft(problems, "one Tab stop in the history strip", one_stop)
    soft(problems, "a filter that matches nothing says so", no_match)
    return problems


def check_nsfw(page: Any, panel: Any, emulator: RunningEmulator, shots: Path) -> list[str]:
    """A flagged image is hidden behind "Show / hide" in the panel, and stays hidden when the
    lightbox steps onto it from a neighbour."""
    problems: list[str] = []
    enlarge = panel.get_by_role("button", name="Enlarge the image")
    dialog = page.get_by_role("dialog", name="The image, enlarged")

    def hidden_in_panel() -> None:
        emulator.emulator.script("task", "nsfw")
        set_fields(panel, "a flagged kitten", 512, 512, 7)
        panel.get_by_role("button", name="Generate").click()
        expect(panel.locator(".kp-caption")).to_contain_text("seed 7", timeout=30_000)
        expect(panel.locator(".kp-nsfw")).to_contain_text("so it is hidden")
        expect(enlarge).to_be_hidden()
        panel.get_by_role("button", name="Show / hide", exact=True).click()
        expect(enlarge).to_be_visible()
        expect(panel.locator(".kp-nsfw")).to_contain_text("so it is shown only because you asked")
        panel_screenshot(page, panel, shots / "panel-nsfw-shown.png")

    def hidden_in_lightbox() -> None:
        panel.get_by_role("button", name=re.compile(r"^Restore image #2:")).click()
        expect(panel.get_by_label("Seed", exact=True)).to_have_value("6")
        enlarge.click()
        page.keyboard.press("ArrowRight")  # newer: the flagged kitten
        expect(dialog).to_contain_text("Flagged NSFW, hidden", timeout=10_000)
        expect(dialog.locator("img")).to_be_hidden()
        page.screenshot(path=str(shots / "lightbox-nsfw.png"))
        # The same control, in the dialog, by keyboard: Tab reaches it (focus stays inside).
        show = dialog.get_by_role("button", name="Show / hide the flagged image")
        for _ in range(4):
            if focused(page)["label"] == "Show / hide the flagged image":
                break
            page.keyboard.press("Tab")
        assert focused(page)["label"] == "Show / hide the flagged image", focused(page)
        page.keyboard.press("Enter")
        expect(dialog.locator("img")).to_be_visible()
        expect(show).to_have_attribute("aria-pressed", "true")
        page.screenshot(path=str(shots / "lightbox-nsfw-shown.png"))
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)

    soft(problems, "a flagged image is hidden in the panel", hidden_in_panel)
    soft(problems, "a flagged image stays hidden in the lightbox", hidden_in_lightbox)
    if dialog.count():
        dialog.get_by_role("button", name="Close").click()
    problems += check_nsfw_history(page, panel, shots)
    return problems


def check_nsfw_history(page: Any, panel: Any, shots: Path) -> list[str]:
    """A flagged thumbnail is hidden (not only blurred) behind the panel's one "Show / hide",
    which the keyboard reaches from the history's filter."""
    problems: list[str] = []
    flagged = panel.locator(".klein-thumb.kp-flagged")

    def hidden() -> None:
        panel.get_by_role("button", name=re.compile(r"^Restore image #2:")).click()
        expect(panel.get_by_label("Seed", exact=True)).to_have_value("6")
        expect(flagged).to_have_count(1)
        expect(flagged.locator("img")).to_be_hidden()
        expect(flagged).to_contain_text("Flagged NSFW: hidden")
        history = panel.locator(".kp-history")
        expect(history).to_contain_text("1 image flagged NSFW by the server, hidden")
        panel_screenshot(page, panel, shots / "history-nsfw-hidden.png")

    def by_keyboard() -> None:
        panel.get_by_label("Filter", exact=True).focus()
        page.keyboard.press("Tab")
        assert focused(page)["label"] == "Show / hide the flagged thumbnails", focused(page)
        page.keyboard.press("Enter")
        expect(flagged.locator("img")).to_be_visible()
        expect(flagged.locator(".kp-flag")).to_be_hidden()
        expect(panel.locator(".kp-history")).to_contain_text("flagged NSFW by the server, shown")
        panel_screenshot(page, panel, shots / "history-nsfw-shown.png")
        page.keyboard.press("Enter")
        expect(flagged.locator("img")).to_be_hidden()

    soft(problems, "a flagged thumbnail is hidden in the history", hidden)
    soft(problems, "the history's Show / hide by keyboard", by_keyboard)
    return problems


LINE_TOPS_JS = """el => {
  // The top of the line each of the words "Before:" and "After:" is drawn on.
  const text = el.firstChild;
  const top = (word) => {
    const at = text.textContent.indexOf(word);
    const range = document.createRange();
    range.setStart(text, at);
    range.setEnd(text, at + word.length);
    const box = range.getBoundingClientRect();
    return [Math.round(box.top), Math.round(box.left - el.getBoundingClientRect().left)];
  };
  return { before: top("Before:"), after: top("After:") };
}"""


def check_enhance_lines(panel: Any, shots: Path) -> list[str]:
    """The enhancer's note puts "After:" on a line of its own, at the line's start."""
    problems: list[str] = []

    def two_lines() -> None:
        panel.get_by_label("Prompt", exact=True).fill("a fox")
        panel.get_by_role("button", name="Enhance prompt").click()
        note = panel.locator(".kp-note")
        expect(note).to_contain_text("After:", timeout=30_000)
        tops = note.evaluate(LINE_TOPS_JS)
        (before_top, _), (after_top, after_left) = tops["before"], tops["after"]
        assert after_top > before_top, f"Before/After on one line: {tops}"
        assert after_left <= 2, f'"After:" does not start its line: {tops}'
        note.screenshot(path=str(shots / "enhance-note.png"))
        panel.get_by_role("button", name="Undo").click()

    soft(problems, "the enhancer's Before/After on two lines", two_lines)
    return problems


def check_lost_kernel(page: Any, panel: Any, restart: Callable[[], None], shots: Path) -> list[str]:
    """After a kernel restart the panel says it lost its kernel, stops offering Generate and
    says exactly what to do; its button puts the cursor in the cell, Shift+Enter runs it,
    and a live panel replaces the dead one (its history back from the gallery)."""
    problems: list[str] = []
    restart()

    def says_lost() -> None:
        # Jupyter tells the page the comm died: the panel says so at once; elsewhere the
        # click on Generate goes unanswered and the panel says so after a few seconds.
        generate = panel.get_by_role("button", name="Generate")
        if generate.is_enabled():
            generate.click(timeout=5_000)
        note = panel.locator(".kp-lost")
        expect(note).to_be_visible(timeout=15_000)
        expect(note).to_contain_text("lost its kernel")
        expect(note).to_contain_text("Run this panel's cell again (Shift+Enter in it)")
        expect(panel.get_by_role("button", name="Generate")).to_be_disabled()

    def runs_again() -> None:
        panel.get_by_role("button", name="Go to this panel's cell").click()
        expect(panel.locator(".kp-lost")).to_contain_text("press Shift+Enter")
        page.keyboard.press("Shift+Enter")
        # The cell's output is replaced: a new panel, live, with the images made before.
        expect(panel.locator(".kp-lost")).to_be_hidden(timeout=60_000)
        expect(panel.get_by_role("button", name="Generate")).to_be_enabled(timeout=60_000)
        expect(panel.locator(".klein-thumb")).to_have_count(3, timeout=60_000)
        set_fields(panel, "a fox after the restart", 512, 512, 9)
        panel.get_by_role("button", name="Generate").click()
        expect(panel.locator(".kp-caption")).to_contain_text("seed 9", timeout=60_000)

    soft(problems, "a restarted kernel's panel says so", says_lost)
    panel_screenshot(page, panel, shots / "panel-lost-kernel.png")
    soft(problems, "the panel's cell runs again from its note", runs_again)
    panel_screenshot(page, panel, shots / "panel-after-restart.png")
    return problems


def keys_problems(
    page: Any,
    panel: Any,
    emulator: RunningEmulator,
    shots: Path,
    restart: Callable[[], None] | None = None,
) -> list[str]:
    """Every check above, in order (the lost kernel last, where the front end restarts one)."""
    panel.get_by_label("Prompt", exact=True).wait_for(state="visible", timeout=60_000)
    make_two(panel)
    problems = check_alt_text(panel)
    problems += check_slider_keys(page, panel)
    problems += check_seed_box(panel, emulator)
    problems += check_lightbox(page, panel, shots)
    problems += check_history_strip(panel)
    problems += check_nsfw(page, panel, emulator, shots)
    problems += check_enhance_lines(panel, shots)
    if restart is not None:
        problems += check_lost_kernel(page, panel, restart, shots)
    return problems
