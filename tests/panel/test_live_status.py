"""What the panel says while a job runs and after, against real servers: an accepted job
reads "generating" with its time (not "accepted" for its whole life, issue 23 item 10),
a classroom gateway's budget left is in the live status and after, and an emulator image
restored from the gallery under a real URL is still called a stand-in (issue 28 item 8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from klein_widget import AsyncKleinClient, Session
from klein_widget.client._config import DEFAULT_BASE_URL
from klein_widget.gateway import start
from klein_widget.widget._fallback import fallback_html
from klein_widget.widget._history import PanelHistory
from klein_widget.widget._widget import KleinPanel
from tests.conftest import fast_options

from .conftest import click, until


async def test_a_job_reads_generating_and_the_class_budget_left_while_it_runs_and_after(
    tmp_path: Path,
) -> None:
    with start(tmp_path / "class.sqlite3", upstream="emulator", emulator_inference_time=0.6) as gw:
        token = gw.gateway.db.add_student("ada", 2000)
        client = AsyncKleinClient(token, gw.base_url, gallery=False, **fast_options())
        panel = KleinPanel(client, prompt="a hare in the class", width=320, height=256, seed=3)
        seen: list[dict[str, Any]] = []
        panel.observe(lambda change: seen.extend(change["new"]), "in_flight")
        try:
            click(panel, "generate")
            await until(lambda: panel.history, "the image", timeout=20)
            await until(lambda: not panel.in_flight, "the job to end", timeout=5)
        finally:
            panel.close()
            await client.aclose()
    stages = [item["stage"] for item in seen]
    # Sent, then generating at once: never "accepted"/"submitted" for the job's life.
    assert stages[0] == "sending", stages
    assert "generating" in stages, stages
    assert not {"accepted", "submitted"} & set(stages), stages
    accepted = [item for item in seen if item["stage"] != "sending"]
    assert accepted, stages
    assert all(item["budget"] == "class budget $1.992 left" for item in accepted), accepted
    assert all("· class budget $1.992 left" in item["text"] for item in accepted), accepted
    # After: the status line says what is left, as the client's closing line does.
    assert "class budget $1.992 left" in panel.status, panel.status


async def test_an_emulator_image_restored_under_a_real_url_is_called_a_stand_in(
    shared: Session,
) -> None:
    made = await shared.async_client().generate("a gallery fox", width=256, height=256, seed=1)
    assert made.simulated  # the emulator said so, and the gallery keeps it
    gallery = shared.gallery
    assert gallery is not None
    history = PanelHistory()
    # The panel now talks to WaveSpeed: the image from the gallery is still a stand-in.
    sources = history.sources(gallery, recent=[])
    history.start(  # with no loop: at once, as in a script
        sources, base_url=DEFAULT_BASE_URL, loop=None, on_step=lambda _: None, on_done=lambda: None
    )
    entry = history.find(made.task_id)
    assert entry is not None
    assert entry.alt == "emulator stand-in for: a gallery fox"  # image, lightbox, thumbnail
    assert entry.item()["alt"] == entry.alt
    saved = fallback_html(entry.request, made.image, status=entry.done, alt=entry.alt)
    assert 'alt="emulator stand-in for: a gallery fox"' in saved
