"""The panel's model picker, mode and reference tray (issue 24), driven as the page does.

The page sends an image's bytes once, as the one buffer of an ``add_reference`` message;
"Edit this" names a history entry and sends no bytes. Against the in-process emulator.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

import klein_widget.widget
from klein_widget import AsyncKleinClient, InvalidRequestError, Session
from klein_widget.client._family import MAX_REFERENCES, resolve_model
from klein_widget.client._params import call_params
from klein_widget.emulator import Emulator
from klein_widget.widget._edits import EMPTY_TRAY
from klein_widget.widget._widget import KleinPanel
from tests.conftest import FAKE_KEY

from .conftest import RecordingComm, click

SUBMIT_4B = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
SUBMIT_9B = "/api/v3/wavespeed-ai/flux-2-klein-9b/text-to-image"
EDIT_9B = "/api/v3/wavespeed-ai/flux-2-klein-9b/edit"
EDIT_4B = "/api/v3/wavespeed-ai/flux-2-klein-4b/edit"
UPLOADS = "/api/v3/media/uploads"


def png(width: int, height: int, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def drop(panel: KleinPanel, data: bytes, name: str = "photo.png") -> None:
    """What the page sends for a file, a drop or a paste: the bytes as one buffer."""
    panel._handle_custom_msg({"type": "add_reference", "name": name}, [memoryview(data)])


async def test_model_picker_says_model_and_price_from_the_registry(panel: KleinPanel) -> None:
    assert panel.klein_model == "4b"
    assert [m["name"] for m in panel.models] == ["4b", "9b"]
    assert panel.model_line == "FLUX.2 [klein] 4B · $0.008 per image"
    panel.klein_model = "9b"
    nine = resolve_model("9b")
    assert not nine.price_confirmed  # the registry says so; the line follows it
    assert panel.model_line == "FLUX.2 [klein] 9B · $0.016 reserved (price unconfirmed)"
    panel.klein_model = "wavespeed-ai/flux-2-klein-4b/edit"  # any name of the weights
    assert panel.klein_model == "4b"
    panel.mode = "edit"
    assert panel.model_line.startswith("FLUX.2 [klein] 4B edit · $0.016 reserved")
    with pytest.raises(InvalidRequestError, match="model must be one of"):
        panel.klein_model = "12b"
    assert panel.klein_model == "4b"


async def test_a_corrected_price_is_the_one_said(shared: Session) -> None:
    # Once WaveSpeed's price endpoint answers, the client's price book says the price.
    client = AsyncKleinClient(FAKE_KEY, "https://api.wavespeed.ai")
    panel = KleinPanel(client)
    try:
        panel.klein_model = "9b"
        assert panel.model_line == "FLUX.2 [klein] 9B · $0.016 reserved (price unconfirmed)"
        client.prices.correct("9b", 12)
        panel.refresh()
        assert panel.model_line == "FLUX.2 [klein] 9B · $0.012 per image"
    finally:
        panel.close()
        await client.aclose()


async def test_files_join_the_tray_in_order_and_size_follows_image_1(panel: KleinPanel) -> None:
    drop(panel, png(1000, 700), "fox.png")
    drop(panel, png(512, 512, (0, 0, 200)), "sofa.jpg")
    assert panel.mode == "edit"  # adding a reference switches to editing
    assert [(r["number"], r["label"], r["width"], r["height"]) for r in panel.references] == [
        (1, "fox.png", 1000, 700),
        (2, "sofa.jpg", 512, 512),
    ]
    assert panel.tray_note == "Added sofa.jpg as image 2. The tray holds 2 images."
    # The sliders show image 1's size (snapped to 16) and no size will be sent.
    assert (panel.width, panel.height) == (1008, 704)
    assert panel.size_as_reference
    assert not panel.edits.order().sized
    # A click from a page that has not heard image 1's size yet keeps it.
    click(panel, "generate", prompt="", width=1024, height=1024, mode="edit")
    assert (panel.width, panel.height, panel.size_as_reference) == (1008, 704, True)
    # Moving a slider sends that size; "Use image 1's size" goes back.
    panel.width = 768
    assert not panel.size_as_reference
    assert panel.edits.order().sized
    click(panel, "size_reference")
    assert panel.size_as_reference
    assert (panel.width, panel.height) == (1008, 704)
    # Reordered, image 2 becomes image 1 and the size follows it.
    click(panel, "move_reference", key=panel.references[1]["key"], by=-1)
    assert [r["label"] for r in panel.references] == ["sofa.jpg", "fox.png"]
    assert (panel.width, panel.height) == (512, 512)
    click(panel, "remove_reference", key=panel.references[0]["key"])
    assert [(r["number"], r["label"]) for r in panel.references] == [(1, "fox.png")]
    assert panel.tray_note == "Removed sofa.jpg from the tray. The tray holds 1 image."


async def test_tray_refuses_a_fifth_image_and_what_is_no_image(panel: KleinPanel) -> None:
    for n in range(MAX_REFERENCES):
        drop(panel, png(300 + 16 * n, 300), f"ref{n}.png")
    before = list(panel.references)
    drop(panel, png(640, 480), "fifth.png")
    assert panel.references == before
    assert panel.tray_note == (
        'The tray holds 4 images at most, so "fifth.png" was not added: remove one first.'
    )
    assert panel.tray_kind == "error"
    click(panel, "remove_reference", key=before[0]["key"])
    drop(panel, b"%PDF-1.4 not a picture", "notes.pdf")
    assert len(panel.references) == MAX_REFERENCES - 1
    assert '"notes.pdf" is not an image' in panel.tray_note
    drop(panel, png(300 + 16, 300), "again.png")  # the same bytes as ref1.png
    assert "already in the tray (image 1)" in panel.tray_note
    panel._handle_custom_msg({"type": "add_reference", "name": "lost.png"}, [])
    assert panel.tray_note == "lost.png did not arrive: add it again."


async def test_edit_with_an_empty_tray_sends_nothing(panel: KleinPanel, emulator: Emulator) -> None:
    panel.prompt = "make it night"
    panel.mode = "edit"
    assert panel.generate() is None
    assert panel.status == EMPTY_TRAY
    assert emulator.count("POST", SUBMIT_4B) == 0
    assert panel.tasks == []


@pytest.mark.usefixtures("recording")
async def test_edit_this_takes_the_history_entry_and_no_bytes(panel: KleinPanel) -> None:
    click(panel, "generate", prompt="a red fox", width=768, height=512, seed=7)
    (task,) = panel.tasks
    generation = await task
    assert generation is not None
    assert isinstance(panel.comm, RecordingComm)
    sent_before = len(panel.comm.sent)
    click(panel, "edit_this", id=generation.task_id)
    assert panel.mode == "edit"
    (ref,) = panel.references
    assert (ref["label"], ref["id"], ref["width"], ref["height"]) == (
        "image #1",
        generation.task_id,
        768,
        512,
    )
    assert panel.edits.tray.items[0].image() is generation  # the entry's image, in memory
    # One small thumbnail goes to the page (the history's own); no image bytes.
    sent = [
        (data["content"]["type"], sizes)
        for _kind, data, sizes in panel.comm.sent[sent_before:]
        if data.get("method") == "custom"
    ]
    assert sent == [("ack", []), ("tray_thumbs", [len(panel.history[0].thumbnail)])]
    click(panel, "edit_this", id=generation.task_id)
    assert len(panel.references) == 1
    assert panel.tray_note == "History image #1 is already in the tray (image 1)."
    click(panel, "edit_this", id="no-such-task")
    assert panel.tray_note == "That image is no longer in the history."
    # A view that opens later gets the tray's thumbnails with the history's.
    click(panel, "hello")
    assert [data["content"]["type"] for _k, data, _s in panel.comm.sent[-3:]] == [
        "ack",
        "thumbs",
        "tray_thumbs",
    ]


def test_the_page_holds_no_price_of_its_own() -> None:
    # Prices come from Python (the registry, `prices`); a literal in panel.js goes stale.
    js = (Path(klein_widget.widget.__file__).parent / "panel.js").read_text()
    assert re.findall(r"\$\d", js) == []


async def test_mode_from_the_page_applies_image_1s_size(panel: KleinPanel) -> None:
    drop(panel, png(640, 480), "fox.png")
    panel.mode = "generate"
    panel.width, panel.height = 1024, 1024
    # The page switches to Edit (a synced trait): the sliders follow image 1 again.
    panel.set_state({"mode": "edit"})
    assert (panel.width, panel.height) == (640, 480)
    assert panel.model_line.startswith("FLUX.2 [klein] 4B edit")
    order = panel.edits.order()
    assert (order.edit, order.sized, order.model.name) == (True, False, "4b-edit")
    panel.set_state({"klein_model": "9b"})
    assert panel.edits.order().model.id == "wavespeed-ai/flux-2-klein-9b/edit"


async def test_9b_in_generate_mode_calls_the_9b_model(
    panel: KleinPanel, emulator: Emulator
) -> None:
    panel.klein_model = "9b"
    click(panel, "generate", prompt="a heron at dawn", width=512, height=512, seed=3)
    (task,) = panel.tasks
    generation = await task
    assert generation is not None
    assert generation.model == "9b"
    assert emulator.count("POST", SUBMIT_9B) == 1
    assert emulator.count("POST", SUBMIT_4B) == 0
    assert panel.history[0].params()["model"] == generation.params()["model"]


async def test_edit_sends_references_in_order_and_restores_them(
    panel: KleinPanel, emulator: Emulator
) -> None:
    click(panel, "generate", prompt="a red fox", width=768, height=512, seed=7)
    (task,) = panel.tasks
    first = await task
    assert first is not None
    assert first.prediction.outputs
    url = first.prediction.outputs[0]  # a URL reference passes through, never uploaded
    assert panel.edits.tray.add_url(url, label="the fox") == ""
    panel.mode, panel.klein_model = "edit", "9b"
    assert panel.edits.tray.first_size is None  # a URL's size is not known here
    click(panel, "generate", prompt="make it night", seed=11)
    (task,) = panel.tasks
    edit = await task
    assert edit is not None
    assert edit.model == "9b-edit"
    assert edit.images == (url,)
    assert edit.request.width is None  # "as reference": no size sent
    assert emulator.count("POST", EDIT_9B) == 1
    assert panel.history[0].item()["edit"]
    # Generate mode again, then restore the edit: mode, model and references come back.
    click(panel, "remove_reference", key=panel.references[0]["key"])
    panel.mode, panel.klein_model = "generate", "4b"
    panel.restore(edit.task_id)
    assert (panel.mode, panel.klein_model) == ("edit", "9b")
    assert [r["label"] for r in panel.references] == ["the fox"]
    assert panel.size_as_reference
    assert panel.edits.order().references[0].image() == url
    # Restoring a plain image puts generate mode back (the tray stays as it was).
    panel.restore(first.task_id)
    assert panel.mode == "generate"


async def test_edit_of_a_file_and_a_history_image(panel: KleinPanel, emulator: Emulator) -> None:
    click(panel, "generate", prompt="a red fox", width=768, height=512, seed=7)
    (task,) = panel.tasks
    first = await task
    assert first is not None
    drop(panel, png(640, 480, (20, 90, 200)), "sofa.png")
    click(panel, "edit_this", id=first.task_id)
    assert [r["label"] for r in panel.references] == ["sofa.png", "image #1"]
    assert (panel.width, panel.height) == (640, 480)
    assert panel.model_line.startswith("FLUX.2 [klein] 4B edit")
    click(panel, "generate", prompt="put the fox from image 2 on the sofa in image 1", seed=5)
    (task,) = panel.tasks
    edit = await task
    assert edit is not None, panel.status
    assert edit.model == "4b-edit"
    assert len(edit.images) == len(edit.references) == 2
    assert edit.request.width is None  # "as reference": the image keeps image 1's size
    assert image_size(edit.image) == (640, 480)
    assert emulator.count("POST", UPLOADS) == 2  # each image once
    assert emulator.count("POST", EDIT_4B) == 1
    assert panel.history[0].size == (640, 480)
    assert panel.status.startswith("Done in "), panel.status
    # The same edit again (fixed seed): nothing uploaded again, and it is free.
    click(panel, "generate", prompt="put the fox from image 2 on the sofa in image 1", seed=5)
    (task,) = panel.tasks
    again = await task
    assert again is not None
    assert again.from_gallery
    assert emulator.count("POST", UPLOADS) == 2
    assert emulator.count("POST", EDIT_4B) == 1


async def test_load_of_an_edit_restores_it(panel: KleinPanel) -> None:
    click(panel, "generate", prompt="a red fox", width=768, height=512, seed=7)
    (task,) = panel.tasks
    first = await task
    assert first is not None
    url = first.prediction.outputs[0]
    panel.edits.tray.add_url(url, label="the fox")
    panel.mode, panel.klein_model = "edit", "9b"
    click(panel, "generate", prompt="make it night", seed=11)
    (task,) = panel.tasks
    edit = await task
    assert edit is not None
    params = call_params(edit.request)  # what load_params gives for an edit's file
    other = KleinPanel()
    try:
        other.load(params)
        assert (other.mode, other.klein_model, other.prompt, other.seed) == (
            "edit",
            "9b",
            "make it night",
            11,
        )
        assert [item.image() for item in other.edits.tray.items] == [url]
        assert other.size_as_reference
        other.load(call_params(first.request))  # the fox: a plain image
        assert (other.mode, other.klein_model, other.width, other.height) == (
            "generate",
            "4b",
            768,
            512,
        )
    finally:
        other.close()
