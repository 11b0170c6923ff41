"""The panel's frame around the controls: the title bar (where images come from), the
Generate / Cancel row with the status line, and the spend line under everything.

Example:
    >>> frame = PanelFrame(status_html)  # doctest: +SKIP
    >>> frame.redraw(client=None)  # the session's connection and spend  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from klein_widget._session import session
from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._models import PRICE_PER_IMAGE
from klein_widget.widget._status import connection_text, spend_text
from klein_widget.widget._style import STYLESHEET, small

TITLE = "FLUX.2 [klein] 4B"


class PanelFrame:
    """The widgets around the controls, and how the connection and spend lines are drawn."""

    def __init__(self, status_html: Any) -> None:
        self.generate_button = w.Button(
            description="Generate",
            icon="play",
            button_style="primary",
            tooltip=f"Make the image (${PRICE_PER_IMAGE:.3f}); several may run at once",
            layout=w.Layout(width="120px"),
        )
        self.cancel_button = w.Button(
            description="Cancel",
            icon="stop",
            disabled=True,
            tooltip="Stop waiting; tasks the server accepted still finish and are billed",
            layout=w.Layout(width="100px"),
        )
        self.connection_html = w.HTML(layout=w.Layout(margin="0 0 0 auto"))
        self.spend_html = w.HTML()
        title = STYLESHEET + f'<span class="klein-title">{TITLE}</span> '
        self.header = w.HBox(
            [w.HTML(title + small("text to image")), self.connection_html],
            layout=w.Layout(align_items="baseline", width="100%"),
        )
        self.actions = w.HBox(
            [self.generate_button, self.cancel_button, status_html],
            layout=w.Layout(align_items="flex-start", width="100%", margin="6px 0 0 0"),
        )

    @staticmethod
    def outline() -> Any:
        """The panel's own layout: full width up to 800 px, padded, with a thin border."""
        return w.Layout(
            width="100%",
            max_width="800px",
            padding="8px 12px",
            border="1px solid var(--jp-border-color2, #ccc)",
        )

    @staticmethod
    def has_key(client: AsyncKleinClient | None) -> bool:
        """Whether ``client`` (None: the session's) can send: it has a key, or its server
        (a local emulator, a gateway) does not need one."""
        return not (client.key_missing if client is not None else session().key_missing)

    def redraw(self, client: AsyncKleinClient | None) -> None:
        """Redraw where images come from and what was spent, for ``client`` (None: the
        session's, whose spend also counts ``%klein``)."""
        url = client.base_url if client is not None else session().base_url
        emulator = session().using_emulator and url == session().base_url
        self.connection_html.value = small(
            connection_text(url, emulator=emulator, has_key=self.has_key(client))
        )
        ledger = client.ledger if client is not None else session().ledger
        self.spend_html.value = small(
            spend_text(ledger.spend, session_wide=ledger is session().ledger, base_url=url)
        )
