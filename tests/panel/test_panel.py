"""The panel driven from Python, as its front end would: set traits, send clicks, await.

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
from klein_widget.client._metadata import read_params
from klein_widget.emulator import Emulator
from klein_widget.widget._widget import MAX_IN_FLIGHT, KleinPanel
from tests.conftest import FAKE_KEY, fast_options

from .conftest import click, until

SUBMIT = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def click_generate(panel: KleinPanel) -> klein_widget.Generation | None:
    before = set(panel.tasks)
    click(panel, "generate")
    (task,) = set(panel.tasks) - before
    return await task


async def test_click_makes_image_with_status_snippet_history_and_spend(
    panel: KleinPanel, emulator: Emulator
) -> None:
    # The page sends its values along with the click (its state updates may lag).
    before = set(panel.tasks)
    click(panel, "generate", prompt="a red fox in snow", width=768, height=512, seed=42)
    (task,) = set(panel.tasks) - before
    generation = await task

    assert generation is not None
    assert generation.size == (768, 512)
    assert generation.seed == 42
    assert panel.last is generation
    # The image shown carries its parameters (Download saves a reproducible file).
    assert read_params(panel.image)["seed"] == 42
    assert image_size(panel.image) == (768, 512)
    assert panel.image_info["filename"] == "a-red-fox-in-snow-42.png"
    assert panel.image_info["prompt"] == "a red fox in snow"
    assert panel.status.startswith("Done in ")
    assert "seed 42" in panel.status
    assert "768×512" in panel.status
    assert panel.status.endswith("· $0.008 simulated")  # the emulator says so, wherever it is
    assert "(inference " in panel.status
    assert panel.status_lines == [{"text": panel.status, "kind": "ok"}]
    assert "seed=42" in panel.snippets["Python"]
    assert "width=768" in panel.snippets["Python"]
    assert "height=512" in panel.snippets["Python"]
    assert "--seed 42" in panel.snippets["CLI"]
    assert '"seed": 42' in panel.snippets["curl"]
    assert [e.request for e in panel.history] == [generation.request]
    assert [i["id"] for i in panel.history_items] == [generation.task_id]
    assert panel.current_id == generation.task_id
    assert "1 image · $0.008" in panel.spend_line
    assert session().spend.images == 1
    assert emulator.count("POST", SUBMIT) == 1
    assert panel.running == 0
    assert panel.in_flight == []


async def test_random_seed_is_concrete_everywhere(panel: KleinPanel) -> None:
    panel.prompt = "a lighthouse at dusk"
    assert panel.seed == -1

    generation = await click_generate(panel)

    assert generation is not None
    assert generation.seed >= 0
    assert f"seed={generation.seed}," in panel.snippets["Python"]
    assert f"seed {generation.seed}" in panel.status
    assert panel.seed == -1  # still random for the next one
    click(panel, "reuse_seed")
    assert panel.seed == generation.seed
    click(panel, "random_seed")
    assert panel.seed == -1


async def test_a_click_delivered_on_another_loop_runs_on_the_panels_loop(
    panel: KleinPanel,
) -> None:
    # ipykernel 7 may hand a widget's messages to a subshell: another thread, another loop.
    # The shared async client is bound to the kernel's loop, so the work must hop there.
    panel.prompt = "a fox from a subshell"
    home = asyncio.get_running_loop()

    async def on_the_subshell_loop() -> None:
        click(panel, "generate")

    await asyncio.to_thread(asyncio.run, on_the_subshell_loop())
    (task,) = await until(lambda: panel.tasks, "the job to start on the panel's loop")
    assert task.get_loop() is home
    generation = await task
    assert generation is not None
    assert panel.status.startswith("Done in")


async def test_status_and_progress_update_live_while_waiting(
    panel: KleinPanel, emulator: Emulator
) -> None:
    # Long enough for several polls even when a busy machine (parallel tests) slows the submit.
    emulator.configure(inference_time=2.5)
    seen: list[str] = []
    bars: list[list[dict[str, object]]] = []
    panel.observe(lambda change: seen.append(change["new"]), "status")
    panel.observe(lambda change: bars.append(change["new"]), "in_flight")
    panel.prompt = "a slow fox"

    await click_generate(panel)

    lines = list(dict.fromkeys(seen))
    assert lines[0].startswith("Submitting")
    generating = [text for text in lines if text.startswith("Generating")]
    # The elapsed time counts up between polls: several distinct "Generating… N s" lines.
    assert len(generating) >= 3, lines
    assert any(text.startswith("Downloading") for text in lines)
    assert lines[-1].startswith("Done in")
    stages = list(dict.fromkeys(bar[0]["stage"] for bar in bars if bar))
    assert stages[0] == "sending"
    assert "generating" in stages
    elapsed = [bar[0]["elapsed"] for bar in bars if bar]
    assert elapsed == sorted(elapsed)
    assert bars[-1] == []


async def test_progress_is_estimated_from_learned_times(
    panel: KleinPanel, emulator: Emulator
) -> None:
    emulator.configure(inference_time=0.3)
    panel.prompt, panel.width, panel.height = "a timed fox", 512, 512
    first = panel.generate()
    assert first is not None
    assert panel.in_flight[0]["expected"] is None  # nothing learned yet: indeterminate
    made = await first
    assert made is not None

    second = panel.generate()
    assert second is not None
    expected = panel.in_flight[0]["expected"]
    assert expected == pytest.approx(made.elapsed, rel=0.01)
    await second


async def test_the_estimate_learns_from_images_made_elsewhere_once(
    panel: KleinPanel, shared: Session, emulator: Emulator
) -> None:
    # %klein (the session's client) makes a 512x512 image: the panel's bar learns from it.
    emulator.configure(inference_time=0.2)
    other = await shared.async_client().generate("a magic fox", width=512, height=512, seed=1)
    panel.prompt, panel.width, panel.height, panel.seed = "a timed fox", 512, 512, 2
    first = panel.generate()
    assert first is not None
    assert panel.in_flight[0]["expected"] == pytest.approx(other.elapsed, rel=0.01)
    made = await first
    assert made is not None
    # Its own image is learned once (the session hands it to the panel too): 0.7/0.3.
    panel.seed = 3
    second = panel.generate()
    assert second is not None
    expected = 0.7 * other.elapsed + 0.3 * made.elapsed
    assert panel.in_flight[0]["expected"] == pytest.approx(expected, rel=0.01)
    await second


async def test_several_in_flight_up_to_the_limit(panel: KleinPanel, emulator: Emulator) -> None:
    emulator.configure(inference_time=0.3)
    panel.prompt = "a busy fox"
    tasks = [panel.generate() for _ in range(MAX_IN_FLIGHT)]
    assert all(tasks)
    assert panel.running == MAX_IN_FLIGHT
    assert len(panel.in_flight) == MAX_IN_FLIGHT
    assert f"{MAX_IN_FLIGHT} in flight, the most at once" in panel.status
    assert panel.limits["max_in_flight"] == MAX_IN_FLIGHT  # the page's Generate stops there

    assert panel.generate() is None  # refused, and said so
    assert "already in flight" in panel.status

    results = await asyncio.gather(*[t for t in tasks if t is not None])
    assert all(g is not None for g in results)
    assert len({g.seed for g in results if g is not None}) == MAX_IN_FLIGHT
    assert len(panel.history) == MAX_IN_FLIGHT
    assert emulator.count("POST", SUBMIT) == MAX_IN_FLIGHT
    assert f"{MAX_IN_FLIGHT} images · $0.032" in panel.spend_line
    assert panel.running == 0


async def test_an_error_is_not_hidden_by_a_later_success(
    panel: KleinPanel, emulator: Emulator
) -> None:
    emulator.script("task", "fail")  # the first task fails, the second completes
    panel.prompt = "two foxes"
    first, second = panel.generate(), panel.generate()
    assert first is not None
    assert second is not None
    first_seed = panel.jobs.active[0].request.seed

    assert await first is None
    assert await second is not None

    lines = panel.status.splitlines()
    assert len(lines) == 2
    # The failed task never became an image: named by its seed; the image is #1, as in
    # the history.
    assert lines[0].startswith(f"seed {first_seed} The generation failed on the server")
    assert lines[1].startswith("#1 Done in")
    assert [e.number for e in panel.history] == [1]
    assert [line["kind"] for line in panel.status_lines] == ["error", "ok"]
    # A new batch starts clean.
    await click_generate(panel)
    assert panel.status.startswith("Done in")


async def test_a_failure_offers_retry_and_dims_the_previous_image(
    panel: KleinPanel, emulator: Emulator
) -> None:
    panel.prompt = "a fox"
    assert await click_generate(panel) is not None
    assert not panel.image_stale
    emulator.script("task", "fail")
    panel.seed = 5

    assert await click_generate(panel) is None

    # One sentence: what happened and what to do; the previous image is marked as such.
    assert panel.status.count(". ") == 0
    assert panel.status.startswith("The generation failed on the server (")
    assert panel.status.endswith("Retry, or change the seed.")
    assert panel.can_retry
    assert panel.image_stale
    click(panel, "retry")
    (task,) = panel.tasks
    retried = await task
    assert retried is not None
    assert retried.seed == 5
    assert not panel.can_retry
    assert not panel.image_stale


async def test_stale_notes_go_when_the_input_changes(panel: KleinPanel) -> None:
    panel.prompt = "   "
    assert panel.generate() is None
    assert panel.status.startswith("prompt is empty")
    panel.prompt = "a fox"
    assert panel.status == "Ready."


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


async def test_cancel_stops_waiting_and_the_paid_image_still_lands(
    panel: KleinPanel, emulator: Emulator
) -> None:
    emulator.configure(inference_time=0.8)
    panel.prompt = "a fox worth waiting for"
    task = panel.generate()
    assert task is not None
    await until(lambda: "Generating" in panel.status, "the task to be accepted")

    click(panel, "cancel")  # Escape, or the job's own Cancel button

    assert panel.tasks == []
    assert panel.running == 0
    assert panel.in_flight == []
    assert panel.status.startswith("Stopped waiting for the image with seed ")
    assert "WaveSpeed already accepted" in panel.status
    assert "$0.008" in panel.status
    assert len(panel.status) < 160  # no raw task ids
    assert panel.image == b""
    # Stop waiting, not stop paying: the task runs on, and its image joins the history.
    generation = await task
    assert generation is not None
    assert [e.task_id for e in panel.history] == [generation.task_id]
    assert panel.image == b""  # not shown: the user stopped waiting for it
    assert session().spend.images == len(panel.history) == 1
    assert "arrived: it is in the history" in panel.status


async def test_cancel_is_per_job_and_before_acceptance_costs_nothing(
    panel: KleinPanel, emulator: Emulator
) -> None:
    emulator.configure(inference_time=0.5)
    panel.prompt = "two foxes"
    first, second = panel.generate(), panel.generate()
    assert first is not None
    assert second is not None

    click(panel, "cancel", job=1)  # nothing reported yet: not sent, so truly cancelled

    assert [job["number"] for job in panel.in_flight] == [2]
    assert "before WaveSpeed accepted it: nothing is billed" in panel.status
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second is not None
    assert session().spend.images == len(panel.history) == 1
    assert emulator.count("POST", SUBMIT) == 1


async def test_no_key_says_how_to_set_one_and_sends_nothing(emulator: Emulator) -> None:
    made = KleinPanel(prompt="a fox")
    try:
        assert not session().has_api_key
        for words in ("WAVESPEED_API_KEY", "set_api_key()", "use_emulator()"):
            assert words in made.status
        assert made.key_missing
        assert "no key" in made.connection

        assert made.generate() is None
        assert "No WaveSpeed API key is set" in made.status
        assert "klein_widget.set_api_key()" in made.status
        assert emulator.requests == [] or emulator.count("POST", SUBMIT) == 0
    finally:
        made.close()


async def test_setting_a_key_elsewhere_redraws_an_open_panel() -> None:
    made = KleinPanel(prompt="a fox")
    try:
        assert "no key" in made.connection
        klein_widget.set_api_key("wsk-set-in-another-cell-0000")  # as if from another cell

        assert "no key" not in made.connection
        assert "WaveSpeed API" in made.connection
        assert "set_api_key()" not in made.status
        assert "wsk-set-in-another-cell" not in made.connection + made.status
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
    assert "Traceback" not in panel.status
    assert panel.status_lines[-1]["kind"] == "error"
    assert panel.can_retry
    assert panel.running == 0
    assert panel.image == b""
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
    for field, value in (("width", 100), ("seed", -2), ("seed", True), ("seed", 2**31)):
        with pytest.raises(InvalidRequestError) as caught:
            GenerationRequest("x", **{field: value})  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError) as refused:
            setattr(panel, field, value)
        assert str(refused.value) == str(caught.value)
    assert (panel.width, panel.height, panel.seed) == (1024, 1024, -1)  # unchanged
    panel.height = 1000  # snapped to the model's step of 16
    assert panel.height == 1008
    # What the page sends with a click is checked the same way, and said.
    click(panel, "generate", prompt="a fox", seed=-7)
    assert panel.status.startswith("seed must be")
    assert panel.seed == -1
    assert emulator.count("POST", SUBMIT) == 0
    with pytest.raises(ValueError, match="width"):
        KleinPanel(width=2048)


async def test_presets_and_swap(panel: KleinPanel) -> None:
    assert panel.active_preset == "1:1"
    click(panel, "preset", name="16:9")
    assert (panel.width, panel.height) == (1024, 576)
    assert panel.active_preset == "16:9"
    click(panel, "swap")
    assert (panel.width, panel.height) == (576, 1024)
    assert panel.active_preset == "9:16"
    click(panel, "preset", name="3:2")
    assert (panel.width, panel.height) == (1024, 688)
    panel.width, panel.height = 256, 256
    click(panel, "preset", name="16:9")  # the short side cannot go under 256: the long grows
    assert (panel.width, panel.height) == (448, 256)
    panel.width = 512
    assert panel.active_preset == ""  # 512x256 matches no preset
    click(panel, "preset", name="not-a-preset")
    assert (panel.width, panel.height) == (512, 256)


async def test_enhance_shows_before_and_after_and_undo(panel: KleinPanel) -> None:
    panel.prompt = "a fox <b>"
    click(panel, "enhance")
    task = panel.enhancer.task
    assert task is not None
    assert panel.enhancing
    assert panel.enhance_note == "Enhancing the prompt…"

    after = await task

    assert after is not None
    assert after != "a fox <b>"
    assert panel.prompt == after
    assert panel.enhance_note.startswith("Prompt enhanced ($0.001). Before: a fox <b>")
    assert f"After: {after}" in panel.enhance_note
    assert panel.status == "Ready."  # the generation status is not touched
    assert "1 prompt enhancement · $0.001" in panel.spend_line
    assert not panel.enhancing
    assert panel.can_undo

    click(panel, "undo")
    assert panel.prompt == "a fox <b>"
    assert not panel.can_undo


async def test_nsfw_image_is_flagged(panel: KleinPanel, emulator: Emulator) -> None:
    emulator.script("task", "nsfw")
    panel.prompt = "a flagged fox"

    generation = await click_generate(panel)

    assert generation is not None
    assert generation.nsfw
    assert panel.image_info["nsfw"]  # the page hides it behind "Show / hide"
    assert panel.history_items[0]["nsfw"]
    assert "flagged NSFW" in panel.status

    panel.prompt = "a clean fox"
    await click_generate(panel)
    assert not panel.image_info["nsfw"]


async def test_history_click_restores_fields_image_and_snippet(panel: KleinPanel) -> None:
    panel.prompt, panel.width, panel.height, panel.seed = "first fox", 512, 768, 7
    first = await click_generate(panel)
    panel.prompt, panel.width, panel.height, panel.seed = "second fox", 1024, 576, -1
    second = await click_generate(panel)
    assert first is not None
    assert second is not None
    assert [e.request.prompt for e in panel.history] == ["second fox", "first fox"]

    click(panel, "restore", id=first.task_id)

    assert (panel.prompt, panel.width, panel.height, panel.seed) == ("first fox", 512, 768, 7)
    assert image_size(panel.image) == (512, 768)
    assert read_params(panel.image)["task_id"] == first.task_id
    assert "seed=7," in panel.snippets["Python"]
    assert "'first fox'" in panel.snippets["Python"]
    assert panel.status.startswith("Restored image #1")
    assert "seed 7 is now fixed" in panel.status
    assert panel.seed_restored  # the page says: Generate repeats this image
    assert panel.current_id == first.task_id
    click(panel, "random_seed")  # one click back to random
    assert panel.seed == -1
    assert not panel.seed_restored


async def test_a_restored_seed_comes_back_free_unless_fresh(
    panel: KleinPanel, emulator: Emulator
) -> None:
    panel.prompt, panel.seed = "a gallery fox", 11
    first = await click_generate(panel)
    assert first is not None
    click(panel, "restore", id=first.task_id)

    again = await click_generate(panel)

    assert again is not None
    assert again.from_gallery
    assert panel.status.startswith("From your gallery (emulator stand-in) · seed 11")
    assert panel.image_info["done"] == panel.status  # the caption says so too
    assert "$0.000" in panel.status
    assert "1 from your gallery, $0.008 saved" in panel.spend_line
    assert emulator.count("POST", SUBMIT) == 1
    panel.fresh = True
    fresh = await click_generate(panel)
    assert fresh is not None
    assert not fresh.from_gallery
    assert emulator.count("POST", SUBMIT) == 2


async def test_a_new_panel_starts_with_the_gallery(shared: Session) -> None:
    made = KleinPanel(prompt="an early fox", seed=1)
    try:
        first = await click_generate(made)
        made.seed = 2
        second = await click_generate(made)
    finally:
        made.close()
    assert first is not None
    assert second is not None
    assert shared.gallery is not None
    shared.history.clear()  # as after a kernel restart: only the gallery on disk remains

    later = KleinPanel()
    try:
        assert later.history_loaded is not None
        await later.history_loaded  # filled on the loop, after the panel first shows
        assert [i["id"] for i in later.history_items] == [second.task_id, first.task_id]
        later.restore(first.task_id)
        assert read_params(later.image)["seed"] == 1
        assert later.prompt == "an early fox"
    finally:
        later.close()


async def test_on_the_emulator_every_price_says_simulated() -> None:
    # As a newcomer does it: no key, use_emulator(), a panel.
    klein_widget.use_emulator(quiet=True, inference_time=0.05)
    session().configure(**fast_options())
    made = KleinPanel(prompt="a fox", width=256, height=256, seed=1)
    try:
        assert await click_generate(made) is not None
        assert made.status.endswith("256×256 · $0.008 simulated")
        assert "This session: 1 image · $0.008 simulated" in made.spend_line

        enhanced = made.enhance()
        assert enhanced is not None
        assert await enhanced is not None
        assert made.enhancer.text.startswith("Prompt enhanced ($0.001 simulated).")
        assert "$0.009 simulated" in made.spend_line

        made.seed = 2
        running = session().emulator
        assert running is not None
        # A job that stays in flight until cancelled, however busy the machine is.
        running.emulator.configure(inference_time=30)
        click(made, "generate")
        await until(lambda: "Generating" in made.status, "the job to be accepted")
        assert made.cancel() == 1
        assert "bills it ($0.008 simulated)" in made.status
    finally:
        made.close()


async def test_images_from_elsewhere_in_the_session_count(
    panel: KleinPanel, shared: Session
) -> None:
    # Another user of the shared session (as %klein is): its image joins history and spend.
    other = await shared.async_client().generate("a fox from %klein", seed=3)

    assert [e.task_id for e in panel.history] == [other.task_id]
    assert "1 image · $0.008" in panel.spend_line
    assert panel.image == b""  # the panel's own view is untouched

    later = KleinPanel()  # a new panel starts with the session's images
    try:
        assert later.history_loaded is not None
        await later.history_loaded
        assert [e.task_id for e in later.history] == [other.task_id]
    finally:
        later.close()


async def test_magic_style_images_from_another_thread_join_the_history(live_env: str) -> None:
    # %klein uses the session's blocking client; a thread stands in for a blocking caller.
    made = KleinPanel()
    try:
        other = await asyncio.to_thread(session().client().generate, "a %klein fox", seed=9)
        await until(lambda: made.history, "the image to reach the panel's loop")
        assert [e.task_id for e in made.history] == [other.task_id]
        # $WAVESPEED_BASE_URL is the loopback emulator: its prices are simulated.
        assert "1 image · $0.008 simulated (counts %klein too)" in made.spend_line
        assert made.connection.count("127.0.0.1") == 1
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
        assert "1 image" in made.spend_line
    finally:
        made.close()


async def test_key_never_reaches_traits_snippets_or_repr(panel: KleinPanel) -> None:
    panel.prompt = "a secret fox"
    await click_generate(panel)
    click(panel, "enhance")
    assert panel.enhancer.task is not None
    await panel.enhancer.task

    state = panel.get_state()
    text = json.dumps({k: v for k, v in state.items() if not isinstance(v, bytes | memoryview)})
    assert FAKE_KEY not in text
    assert FAKE_KEY.encode() not in panel.image
    assert FAKE_KEY not in repr(panel)
    assert FAKE_KEY not in panel.status
    assert all(FAKE_KEY not in text for text in panel.snippets.values())
    assert all("$WAVESPEED_API_KEY" in panel.snippets[t] for t in ("Python", "curl"))


async def test_user_text_is_escaped_in_the_static_fallback(panel: KleinPanel) -> None:
    panel.prompt = "<script>alert(1)</script>"
    await click_generate(panel)
    assert panel._fallback.count("&lt;script&gt;") >= 2  # alt text, caption, snippet
    assert "<script>" not in panel._fallback


async def test_repr_and_close(panel: KleinPanel, shared: Session) -> None:
    panel.prompt = "a fox " * 20
    assert repr(panel).startswith("KleinPanel(prompt='a fox a fox")
    assert "size=1024x1024, seed=-1, running=0, images=0" in repr(panel)

    panel.close()
    assert panel.comm is None
    assert shared._listeners == []


def test_without_an_event_loop_the_status_says_so(api_key: str) -> None:
    made = KleinPanel(prompt="a fox")
    try:
        click(made, "generate")
        assert made.tasks == []
        assert "needs a running event loop" in made.status
    finally:
        made.close()
