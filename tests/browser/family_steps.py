"""The panel's model picker, mode and reference tray in a browser (issue 24), shared by the
Lab, Notebook 7, Voila and marimo tests; run after `panel_steps.drive_panel` (the history
then holds images to edit).

The user picks 9B (the header names it with its price from the registry), presses "Edit
this" on a history image, adds a file with the button, drops a file that is no image,
pastes an image, offers a fifth, removes one by keyboard, and makes an edit whose image
keeps image 1's size. Screenshots: the model picker, edit mode with two references, the
edit made.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from .panel_steps import panel_screenshot, wait_image

EDIT_SIZE = (768, 512)  # the edit's: image 1's (history image #1, panel_steps.FIRST)
ADD_FILE_JS = """(el, [how, name, type, bytes]) => {
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], name, { type }));
  const target = el.querySelector(how === 'drop' ? '.kp-tray' : '.kp-prompt');
  const how_ = { bubbles: true, cancelable: true };
  if (how === 'drop') {
    for (const kind of ['dragover', 'drop']) {
      target.dispatchEvent(new DragEvent(kind, { dataTransfer: data, ...how_ }));
    }
  } else {
    target.focus();
    target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, ...how_ }));
  }
}"""


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def give_file(panel: Any, how: str, name: str, mime: str, data: bytes) -> None:
    """Drop a file on the tray, or paste it into the prompt, as a user's browser does."""
    panel.evaluate(ADD_FILE_JS, [how, name, mime, list(data)])


def drive_family(page: Any, panel: Any, shots: Path) -> None:
    """Model picker, Edit this, a file, a drop, a paste, a fifth, a keyboard removal."""
    head = panel.locator(".kp-head")
    expect(head).to_contain_text(re.compile(r"FLUX\.2 \[klein\] 4B\s*\$0\.008 per image"))
    # A native radio group: the arrow keys choose (the notebook must not take them).
    panel.get_by_role("radio", name="4B").focus()
    page.keyboard.press("ArrowRight")
    expect(panel.get_by_role("radio", name="9B")).to_be_checked()
    expect(panel.get_by_role("radio", name="9B")).to_be_focused()
    expect(head).to_contain_text(
        re.compile(r"FLUX\.2 \[klein\] 9B\s*\$0\.016 reserved \(price unconfirmed\)")
    )
    panel_screenshot(page, panel, shots / "family-model-picker.png")

    tray = panel.get_by_role("group", name="Reference images")
    expect(tray).to_be_hidden()  # generate mode
    panel.get_by_role("button", name=re.compile(r"^Edit this: add image #1 ")).click()
    expect(panel.get_by_role("radio", name="Edit")).to_be_checked()
    expect(tray).to_be_visible()
    refs = tray.get_by_role("listitem")
    expect(refs).to_have_count(1)
    expect(refs.first).to_contain_text("image 1")
    expect(refs.first).to_contain_text("image #1")
    expect(panel.get_by_role("button", name="Edit", exact=True)).to_be_visible()
    expect(head).to_contain_text("9B edit")
    # Sizes follow image 1 (the history's first image, 768x512): "as reference".
    expect(panel.get_by_label("Width", exact=True)).to_have_value("768")
    expect(panel.get_by_label("Height", exact=True)).to_have_value("512")
    expect(panel.locator(".kp-size")).to_contain_text("As image 1: 768×512 (no size is sent)")

    panel.locator(".kp-tray input[type=file]").set_input_files(
        files=[
            {"name": "sofa.png", "mimeType": "image/png", "buffer": png(640, 480, (20, 90, 200))}
        ]
    )
    expect(refs).to_have_count(2)
    expect(refs.nth(1)).to_contain_text("sofa.png · 640×480")
    expect(tray.get_by_role("status")).to_have_text(
        "Added sofa.png as image 2. The tray holds 2 images."
    )
    expect(refs.nth(1).locator("img")).to_have_js_property("complete", True)
    panel_screenshot(page, panel, shots / "family-tray-two-references.png")

    give_file(panel, "drop", "notes.txt", "text/plain", b"not a picture")
    expect(tray.get_by_role("status")).to_contain_text('"notes.txt" is not an image')
    expect(refs).to_have_count(2)
    give_file(panel, "paste", "image.png", "image/png", png(300, 300, (240, 200, 0)))
    expect(refs).to_have_count(3)
    expect(refs.nth(2)).to_contain_text("the pasted image")
    give_file(panel, "drop", "cat.png", "image/png", png(320, 320, (0, 160, 0)))
    expect(refs).to_have_count(4)
    give_file(panel, "drop", "fifth.png", "image/png", png(336, 336, (90, 0, 90)))
    expect(tray.get_by_role("status")).to_contain_text("The tray holds 4 images at most")
    expect(refs).to_have_count(4)
    expect(panel.get_by_role("button", name="Add images…")).to_be_disabled()

    # By keyboard: Tab reaches a reference's Remove; Enter removes it and the focus moves
    # on to the next one's; the live note says what happened.
    remove = panel.get_by_role("button", name=re.compile(r"^Remove image 2: sofa\.png"))
    remove.focus()
    page.keyboard.press("Enter")
    expect(refs).to_have_count(3)
    expect(tray.get_by_role("status")).to_have_text(
        "Removed sofa.png from the tray. The tray holds 3 images."
    )
    expect(
        panel.get_by_role("button", name=re.compile(r"^Remove image 2: the pasted image"))
    ).to_be_focused()
    for left in (2, 1):  # each click waits for the tray it changed
        panel.get_by_role("button", name=re.compile(r"^Remove image 2: ")).click()
        expect(refs).to_have_count(left)

    # The edit itself: image 1 (history image #1, 768x512) is uploaded and the new image
    # keeps its size (none is sent); its job names the model.
    panel.get_by_label("Prompt", exact=True).fill("make it night")
    panel.get_by_label("Seed", exact=True).fill("77")
    panel.get_by_role("button", name="Edit", exact=True).click()
    width, height = EDIT_SIZE
    expect(panel.locator(".kp-caption")).to_contain_text(
        f"seed 77 · {width}×{height}", timeout=30_000
    )
    wait_image(panel, width, height)
    expect(panel.locator(".klein-ok").first).to_contain_text("Done in")
    expect(panel.locator(".kp-history .klein-thumb").first).to_have_attribute(
        "aria-label", re.compile(rf"^Restore image #\d+: make it night, {width}×{height}, seed 77")
    )
    panel_screenshot(page, panel, shots / "family-edit-made.png")
