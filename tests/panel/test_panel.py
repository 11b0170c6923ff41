"""The panel driven from Python, as a front end would: set widget values, click, await.

Everything runs against the in-process emulator through the shared session (see conftest),
on the test's event loop, which plays the kernel's.
"""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from PIL import Image

import klein_widget
from klein_widget import GenerationRequest, InvalidRequestError, RetryPolicy, Session, session
from klein_widget.emulator import Emulator
from klein_widget.widget._history import _close_tree
from klein_widget.widget._widget import MAX_IN_FLIGHT, KleinPanel
from tests.conftest import FAKE_KEY, fast_options

from .conftest import until

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def walk(widget: object) -> list[object]:
    """A widget and all its descendants."""
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += walk(child)
    return found


async def click_generate(panel: KleinPanel) -> klein_widget.Generation | None:
    before = set(panel.tasks)
    panel.generate_button.click()
    (task,) = set(panel.tasks) - before
    return await task


async def test_click_makes_image_with_status_snippet_history_and_spend(
    panel: KleinPanel, emulator: Emulator
) -> None:
    panel.controls.prompt.value = "a red fox in snow"
    panel.controls.width.value = 768
    panel.controls.height.value = 512
    panel.controls.seed.value = 42

    generation = await click_generate(panel)

    assert generation is not None
    assert generation.size == (768, 512)
    assert generation.seed == 42
    assert panel.last is generation
    assert panel.result.image.value == generation.image
    assert image_size(panel.result.image.value) == (768, 512)
    assert panel.result.box.layout.display is None  # shown
    assert panel.status.startswith("Done in ")
    assert "seed 42" in panel.status
    assert "768×512" in panel.status
    assert panel.status.endswith("· $0.008")  # a server elsewhere: a real price
    assert "(inference " in panel.status
    assert "seed=42" in panel.snippets["Python"]
    assert "width=768" in panel.snippets["Python"]
    assert "height=512" in panel.snippets["Python"]
    assert "--seed 42" in panel.snippets["CLI"]
    assert '"seed": 42' in panel.snippets["curl"]
    assert [e.request for e in panel.history] == [generation.request]
    assert panel.history_strip.strip.children == (panel.history[0].card,)
    assert "1 image · $0.008" in panel.spend_html.value
    assert session().spend.images == 1
    assert emulator.count("POST", SUBMIT) == 1
    assert not panel.controls.reuse_seed.disabled
    assert panel.running == 0
    assert panel.cancel_button.disabled


async def test_random_seed_is_concrete_everywhere(panel: KleinPanel) -> None:
    panel.prompt = "a lighthouse at dusk"
    assert panel.seed == -1

    generation = await click_generate(panel)

    assert generation is not None
    assert generation.seed >= 0
    assert f"seed={generation.seed}," in panel.snippets["Python"]
    assert f"seed {generation.seed}" in panel.status
    assert panel.seed == -1  # still random for the next one
    panel.controls.reuse_seed.click()
    assert panel.seed == generation.seed
    panel.controls.random_seed.click()
    assert panel.seed == -1


async def test_status_updates_live_while_waiting(panel: KleinPanel, emulator: Emulator) -> None:
    emulator.configure(inference_time=1.2)
    seen: list[str] = []
    panel.observe(lambda change: seen.append(change["new"]), "status")
    panel.prompt = "a slow fox"

    await click_generate(panel)

    lines = list(dict.fromkeys(seen))
    assert lines[0].startswith("Submitting")
    generating = [text for text in lines if text.startswith("Generating")]
    # The elapsed time counts up between polls: several distinct "Generating… N s" lines.
    assert len(generating) >= 3, lines
    assert any(text.startswith("Downloading") for text in lines)
    assert lines[-1].startswith("Done in")


async def test_several_in_flight_up_to_the_limit(panel: KleinPanel, emulator: Emulator) -> None:
    emulator.configure(inference_time=0.3)
    panel.prompt = "a busy fox"
    tasks = [panel.generate() for _ in range(MAX_IN_FLIGHT)]
    assert all(tasks)
    assert panel.running == MAX_IN_FLIGHT
    assert panel.generate_button.disabled
    assert f"{MAX_IN_FLIGHT} in flight, the most at once" in panel.status

    assert panel.generate() is None  # refused, and said so
    assert "already in flight" in panel.status

    results = await asyncio.gather(*[t for t in tasks if t is not None])
    assert all(g is not None for g in results)
    assert len({g.seed for g in results if g is not None}) == MAX_IN_FLIGHT
    assert len(panel.history) == MAX_IN_FLIGHT
    assert emulator.count("POST", SUBMIT) == MAX_IN_FLIGHT
    assert f"{MAX_IN_FLIGHT} images · $0.032" in panel.spend_html.value
    assert not panel.generate_button.disabled
    assert panel.running == 0


async def test_an_error_is_not_hidden_by_a_later_success(
    panel: KleinPanel, emulator: Emulator
) -> None:
    emulator.script("task", "fail")  # the first task fails, the second completes
    panel.prompt = "two foxes"
    first, second = panel.generate(), panel.generate()
    assert first is not None
    assert second is not None

    assert await first is None
    assert await second is not None

    lines = panel.status.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("#1 The generation failed on the server")
    assert lines[1].startswith("#2 Done in")
    assert "klein-error" in panel.status_html.value
    assert "klein-ok" in panel.status_html.value
    # A new batch starts clean.
    await click_generate(panel)
    assert panel.status.startswith("Done in")


async def test_other_work_runs_while_generating(panel: KleinPanel, emulator: Emulator) -> None:
    emulator.configure(inference_time=0.3)
    panel.prompt = "a patient fox"
    task = panel.generate()
    assert task is not None
    assert not task.done()
    ticks = 0
    while not task.done():  # the loop is free: other "cells" keep running
        ticks += 1
        await asyncio.sleep(0.01)
    assert ticks > 5
    assert task.result() is not None


async def test_cancel_stops_waiting_and_says_it_is_billed(
    panel: KleinPanel, emulator: Emulator
) -> None:
    emulator.configure(inference_time=5.0)
    panel.prompt = "a fox that never comes"
    task = panel.generate()
    assert task is not None
    assert not panel.cancel_button.disabled
    await until(lambda: "Generating" in panel.status, "the task to be accepted")

    panel.cancel_button.click()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert task.cancelled()
    assert panel.status.startswith("Cancelled: stopped waiting for the image (task ")
    assert "bills it" in panel.status
    assert panel.running == 0
    assert panel.cancel_button.disabled
    assert panel.result.image.value == b""
    assert panel.history == []
    assert session().spend.images == 1  # accepted by the server: counted


async def test_no_key_says_how_to_set_one_and_sends_nothing(emulator: Emulator) -> None:
    made = KleinPanel(prompt="a fox")
    try:
        assert not session().has_api_key
        for words in ("WAVESPEED_API_KEY", "set_api_key()", "use_emulator()"):
            assert words in made.status
            assert words in made.status_html.value
        assert "no key" in made.connection_html.value

        assert made.generate() is None
        assert "No WaveSpeed API key is set" in made.status
        assert "klein_widget.set_api_key()" in made.status
        assert emulator.requests == [] or emulator.count("POST", SUBMIT) == 0
    finally:
        made.close()


async def test_setting_a_key_elsewhere_redraws_an_open_panel() -> None:
    import klein_widget

    made = KleinPanel(prompt="a fox")
    try:
        assert "no key" in made.connection_html.value
        klein_widget.set_api_key("wsk-set-in-another-cell-0000")  # as if from another cell

        assert "no key" not in made.connection_html.value
        assert "WaveSpeed API" in made.connection_html.value
        assert "set_api_key()" not in made.status
        assert "wsk-set-in-another-cell" not in made.connection_html.value + made.status
    finally:
        made.close()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (("submit", 401), "key"),
        (("submit", 429), "rate"),
        (("task", "fail"), "failed on the server"),
    ],
)
async def test_errors_show_as_one_clear_sentence(
    shared: Session, emulator: Emulator, script: tuple[str, object], expected: str
) -> None:
    shared.configure(retry=RetryPolicy(max_attempts=1))  # no waiting out Retry-After
    channel, action = script
    emulator.script(channel, action)  # type: ignore[arg-type]
    panel = KleinPanel(prompt="a troubled fox")

    assert await click_generate(panel) is None

    assert expected in panel.status.lower()
    assert "Traceback" not in panel.status_html.value
    assert "klein-error" in panel.status_html.value
    assert panel.running == 0
    assert panel.result.image.value == b""
    panel.close()


async def test_timeout_is_explained(shared: Session, emulator: Emulator) -> None:
    emulator.configure(inference_time=5.0)
    shared.configure(timeout=0.2)
    made = KleinPanel(prompt="a late fox")
    try:
        assert await click_generate(made) is None
        assert made.status.startswith("Gave up waiting after 0.2 s for task ")
        assert "resume()" in made.status
    finally:
        made.close()


async def test_invalid_values_cannot_be_sent(panel: KleinPanel, emulator: Emulator) -> None:
    panel.prompt = "   "
    assert panel.generate() is None
    assert panel.status.startswith("prompt is empty")
    assert emulator.count("POST", SUBMIT) == 0

    # Values set from Python are refused in the model's own words (GenerationRequest's).
    for field, value in (("width", 100), ("seed", -2), ("seed", True), ("height", 1024.0)):
        with pytest.raises(InvalidRequestError) as caught:
            GenerationRequest("x", **{field: value})  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError) as refused:
            setattr(panel, field, value)
        assert str(refused.value) == str(caught.value)
    assert (panel.width, panel.height, panel.seed) == (1024, 1024, -1)  # unchanged
    panel.height = 1000  # snapped to the model's step of 16
    assert panel.height == 1008
    # The widgets themselves refuse out-of-range values (as the browser's do).
    panel.controls.width.value = 5000
    panel.controls.seed.value = -7
    assert panel.width == 1536
    assert panel.seed == -1
    with pytest.raises(ValueError, match="width"):
        KleinPanel(width=2048)


async def test_presets_and_swap(panel: KleinPanel) -> None:
    presets = panel.controls.presets
    assert "mod-active" in presets["1:1"]._dom_classes
    presets["16:9"].click()
    assert (panel.width, panel.height) == (1024, 576)
    assert "mod-active" in presets["16:9"]._dom_classes
    assert "mod-active" not in presets["1:1"]._dom_classes
    panel.controls.swap.click()
    assert (panel.width, panel.height) == (576, 1024)
    assert panel.controls.active_preset() == "9:16"
    presets["3:2"].click()
    assert (panel.width, panel.height) == (1024, 688)
    panel.width, panel.height = 256, 256
    presets["16:9"].click()  # the short side cannot go under 256: the long side grows
    assert (panel.width, panel.height) == (448, 256)


async def test_enhance_shows_before_and_after_and_undo(panel: KleinPanel) -> None:
    panel.prompt = "a fox <b>"
    panel.controls.enhance.click()
    task = panel.enhancer.task
    assert task is not None
    assert panel.controls.enhance.disabled
    assert panel.enhancer.text == "Enhancing the prompt…"
    assert "Enhancing the prompt…" in panel.controls.enhance_note.value
    assert not panel.cancel_button.disabled

    after = await task

    assert after is not None
    assert after != "a fox <b>"
    assert panel.prompt == after
    note = panel.controls.enhance_note.value
    assert "Before:</b> a fox &lt;b&gt;" in note
    assert "After:</b>" in note
    assert "<b>" not in note.replace("<b>Before:</b>", "").replace("<b>After:</b>", "")
    assert panel.enhancer.text.startswith("Prompt enhanced ($0.001). Before: a fox <b>")
    assert panel.status == "Ready."  # the generation status is not touched
    assert "1 prompt enhancement · $0.001" in panel.spend_html.value
    assert not panel.controls.enhance.disabled

    panel.controls.undo.click()
    assert panel.prompt == "a fox <b>"
    assert panel.controls.undo.disabled


async def test_nsfw_image_is_hidden_behind_a_toggle(panel: KleinPanel, emulator: Emulator) -> None:
    emulator.script("task", "nsfw")
    panel.prompt = "a flagged fox"

    generation = await click_generate(panel)

    assert generation is not None
    assert generation.nsfw
    assert panel.result.image.layout.display == "none"
    assert panel.result.nsfw_box.layout.display == "flex"
    assert "flagged NSFW" in panel.status
    # Even the thumbnail is blurred: it differs from an unblurred one of the same image.
    panel.result.nsfw_toggle.value = True
    assert panel.result.image.layout.display is None
    assert panel.result.nsfw_toggle.description == "Hide"
    panel.result.nsfw_toggle.value = False
    assert panel.result.image.layout.display == "none"

    panel.prompt = "a clean fox"
    await click_generate(panel)
    assert panel.result.nsfw_box.layout.display == "none"
    assert panel.result.image.layout.display is None


async def test_history_click_restores_fields_image_and_snippet(panel: KleinPanel) -> None:
    panel.prompt, panel.width, panel.height, panel.seed = "first fox", 512, 768, 7
    first = await click_generate(panel)
    panel.prompt, panel.width, panel.height, panel.seed = "second fox", 1024, 576, 8
    second = await click_generate(panel)
    assert first is not None
    assert second is not None
    assert [e.request.prompt for e in panel.history] == ["second fox", "first fox"]

    old_card = panel.history[1].card
    old_card.children[1].click()  # the card's button

    assert (panel.prompt, panel.width, panel.height, panel.seed) == ("first fox", 512, 768, 7)
    assert panel.result.image.value == first.image
    assert "seed=7," in panel.snippets["Python"]
    assert "'first fox'" in panel.snippets["Python"]
    assert panel.status.startswith("Restored image #1")
    assert "klein-current" in old_card._dom_classes
    assert "klein-current" not in panel.history[0].card._dom_classes
    panel.controls.reuse_seed.click()
    assert panel.seed == 7


async def test_on_the_emulator_every_price_says_simulated() -> None:
    # As a newcomer does it: no key, use_emulator(), a panel.
    klein_widget.use_emulator(quiet=True, inference_time=0.05)
    session().configure(**fast_options())
    made = KleinPanel(prompt="a fox", width=256, height=256, seed=1)
    try:
        assert await click_generate(made) is not None
        assert made.status.endswith("256×256 · $0.008 simulated")
        assert "This session: 1 image · $0.008 simulated" in made.spend_html.value

        enhanced = made.enhance()
        assert enhanced is not None
        assert await enhanced is not None
        assert made.enhancer.text.startswith("Prompt enhanced ($0.001 simulated).")
        assert "$0.009 simulated" in made.spend_html.value

        made.controls.seed.value = 2
        made.generate_button.click()
        await until(lambda: made.jobs.active, "the job to start")
        assert made.cancel() == 1
        assert "bills it (an image: $0.008 simulated)" in made.status
    finally:
        made.close()


async def test_images_from_elsewhere_in_the_session_count(
    panel: KleinPanel, shared: Session
) -> None:
    # Another user of the shared session (as %klein is): its image joins strip and spend.
    other = await shared.async_client().generate("a fox from %klein", seed=3)

    assert [e.task_id for e in panel.history] == [other.task_id]
    assert "1 image · $0.008" in panel.spend_html.value
    assert panel.result.image.value == b""  # the panel's own view is untouched

    later = KleinPanel()  # a new panel starts with the session's history
    try:
        assert [e.task_id for e in later.history] == [other.task_id]
    finally:
        later.close()


async def test_magic_style_images_from_another_thread_join_the_strip(live_env: str) -> None:
    # %klein uses the session's blocking client; a thread stands in for a blocking caller.
    made = KleinPanel()
    try:
        other = await asyncio.to_thread(session().client().generate, "a %klein fox", seed=9)
        await until(lambda: made.history, "the image to reach the panel's loop")
        assert [e.task_id for e in made.history] == [other.task_id]
        # $WAVESPEED_BASE_URL is the loopback emulator: its prices are simulated.
        assert "1 image · $0.008 simulated (counts %klein too)" in made.spend_html.value
        assert made.connection_html.value.count("127.0.0.1") == 1
    finally:
        made.close()


async def test_explicit_client_is_used(async_client: klein_widget.AsyncKleinClient) -> None:
    made = klein_widget.panel(async_client, prompt="a fox", width=256, height=256, seed=1)
    try:
        assert made.client is async_client
        generation = await click_generate(made)
        assert generation is not None
        assert generation.size == (256, 256)
        assert async_client.spend.images == 1
        assert session().spend.images == 0
        assert "1 image" in made.spend_html.value
    finally:
        made.close()


async def test_key_never_reaches_widgets_snippets_or_repr(panel: KleinPanel) -> None:
    panel.prompt = "a secret fox"
    await click_generate(panel)
    panel.controls.enhance.click()
    assert panel.enhancer.task is not None
    await panel.enhancer.task

    for widget in walk(panel):
        state = widget.get_state()  # type: ignore[attr-defined]
        text = json.dumps({k: v for k, v in state.items() if not isinstance(v, bytes | memoryview)})
        assert FAKE_KEY not in text
    assert FAKE_KEY not in repr(panel)
    assert FAKE_KEY not in panel.status
    assert all(FAKE_KEY not in text for text in panel.snippets.values())
    assert all("$WAVESPEED_API_KEY" in panel.snippets[t] for t in ("Python", "curl"))


async def test_user_text_is_escaped(panel: KleinPanel) -> None:
    panel.prompt = "<script>alert(1)</script>"
    await click_generate(panel)
    html = panel.result.code["Python"].value
    assert "&lt;script&gt;" in html
    assert "<script>" not in html
    assert "<script>" not in panel.status_html.value


async def test_repr_and_close(panel: KleinPanel, shared: Session) -> None:
    panel.prompt = "a fox " * 20
    assert repr(panel).startswith("KleinPanel(prompt='a fox a fox")
    assert "size=1024x1024, seed=-1, running=0, images=0" in repr(panel)

    widgets = walk(panel)
    panel.close()
    assert all(w.comm is None for w in widgets)  # type: ignore[attr-defined]
    assert shared._listeners == []


def test_without_an_event_loop_the_status_says_so(api_key: str) -> None:
    made = KleinPanel(prompt="a fox")
    try:
        made.generate_button.click()
        assert made.tasks == []
        assert "needs a running event loop" in made.status
    finally:
        _close_tree(made)
