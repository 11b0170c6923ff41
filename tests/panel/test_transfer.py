"""Each image crosses the comm once: counted on the comm the panel really writes to.

The panel is made with a comm that records every message it publishes (the ``comm``
package's documented hook, `comm.create_comm`, the one ipykernel itself replaces), then
driven through its messages as the page drives it. Bytes are counted per message kind.
"""

from __future__ import annotations

from klein_widget import Session
from klein_widget.widget._transfer import image_key
from klein_widget.widget._widget import KleinPanel

from .conftest import RecordingComm, click
from .test_panel import click_generate


def image_messages(panel: KleinPanel) -> list[tuple[str, int]]:
    """(key, bytes) of every image the panel sent over its comm."""
    assert isinstance(panel.comm, RecordingComm)
    return [
        (data["content"]["key"], sum(sizes))
        for kind, data, sizes in panel.comm.sent
        if data.get("method") == "custom" and data["content"].get("type") == "image"
    ]


def state_buffer_bytes(panel: KleinPanel) -> int:
    """Bytes carried by state updates (the image used to travel there)."""
    assert isinstance(panel.comm, RecordingComm)
    return sum(sum(sizes) for _k, data, sizes in panel.comm.sent if data.get("method") == "update")


async def test_restoring_twice_sends_no_image_again(recording: None, shared: Session) -> None:
    panel = KleinPanel(prompt="a once fox", width=512, height=256, seed=1)
    try:
        first = await click_generate(panel)
        first_key = panel.image_key
        panel.seed = 2
        second = await click_generate(panel)
        assert first is not None
        assert second is not None
        sent = image_messages(panel)
        assert [key for key, _ in sent] == [first_key, panel.image_key]
        assert first_key != panel.image_key
        assert sent[1][1] == len(panel.image)  # the whole image, once
        assert state_buffer_bytes(panel) == 0  # and never inside a state update

        for _ in range(2):
            click(panel, "restore", id=first.task_id)
            assert panel.image_key == first_key == image_key(panel.image)
            click(panel, "restore", id=second.task_id)

        assert image_messages(panel) == sent  # four restores: nothing crossed again
        assert panel.shower.transfer.transfers == 2
        assert panel.shower.transfer.bytes_sent == sum(size for _, size in sent)
    finally:
        panel.close()


async def test_a_page_without_the_image_asks_and_gets_only_that_one(
    recording: None, shared: Session
) -> None:
    panel = KleinPanel(prompt="a reloaded fox", width=256, height=256, seed=5)
    try:
        made = await click_generate(panel)
        assert made is not None
        key = panel.image_key
        before = len(image_messages(panel))

        click(panel, "want", key=key)  # a second view, or the page reloaded
        click(panel, "want", key="0" * 24)  # a key no longer shown: nothing

        sent = image_messages(panel)[before:]
        assert sent == [(key, len(panel.image))]
    finally:
        panel.close()
