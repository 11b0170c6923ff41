"""The panel's result area: the image (behind a toggle if flagged NSFW) and its snippets.

Example:
    >>> view = ResultView()  # doctest: +SKIP
    >>> view.show(request, image_bytes, "png", nsfw=False, base_url=url)  # doctest: +SKIP
    >>> print(view.snippets["Python"])  # doctest: +SKIP
"""

from __future__ import annotations

import ipywidgets as w

from klein_widget.client._config import resolve_base_url
from klein_widget.client._models import GenerationRequest
from klein_widget.ui._snippets import default_filename, snippets
from klein_widget.widget._style import code_block, small

TABS = ("Python", "%klein", "curl", "CLI")
_MISSING = {"%klein": "# The %klein snippet needs klein_widget.magic._args (not installed)."}


class ResultView:
    """Image, NSFW cover and the reproducible snippets for exactly that image."""

    def __init__(self) -> None:
        # Not stretched by the column's flex layout: natural size, scaled down to fit.
        self.image = w.Image(
            format="png",
            layout=w.Layout(max_width="100%", height="auto", align_self="flex-start"),
        )
        self.image.add_class("klein-main-image")
        self.nsfw_note = w.HTML(
            small(
                "The server flagged this image as possibly unsafe (NSFW), so it is hidden.",
                kind="warn",
            )
        )
        self.nsfw_toggle = w.ToggleButton(
            value=False,
            description="Show anyway",
            icon="eye",
            tooltip="Show the flagged image",
            layout=w.Layout(width="auto"),
        )
        self.nsfw_box = w.HBox(
            [self.nsfw_note, self.nsfw_toggle],
            layout=w.Layout(display="none", align_items="center", flex_flow="row wrap"),
        )
        self.caption = w.HTML(
            small("Reproduce exactly this image (the key is read from $WAVESPEED_API_KEY):")
        )
        self.code = {title: w.HTML() for title in TABS}
        self.tabs = w.Tab(children=[self.code[t] for t in TABS], titles=TABS)
        self.tabs.layout.width = "100%"
        self.snippet_box = w.VBox([self.caption, self.tabs], layout=w.Layout(display="none"))
        self.box = w.VBox(
            [self.nsfw_box, self.image, self.snippet_box],
            layout=w.Layout(width="100%", display="none", margin="6px 0 0 0"),
        )
        self.request: GenerationRequest | None = None
        self.snippets: dict[str, str] = {}
        self.nsfw = False
        self.nsfw_toggle.observe(self._toggled, "value")

    def show(
        self, request: GenerationRequest, image: bytes, fmt: str, *, nsfw: bool, base_url: str
    ) -> None:
        """Show ``image`` (``fmt`` "png" or "jpeg") and the snippets that reproduce it."""
        self.request, self.nsfw = request, nsfw
        self.image.format = fmt
        self.image.value = image
        self.nsfw_toggle.value = False
        self.nsfw_box.layout.display = "flex" if nsfw else "none"
        self._toggled()
        # Python and the CLI read $WAVESPEED_BASE_URL: name the URL only if it differs.
        extension = "jpg" if fmt == "jpeg" else "png"
        self.snippets = snippets(
            request,
            base_url=base_url,
            filename=default_filename(request, extension),
            base_url_from_env=base_url == resolve_base_url(None),
        )
        for title in TABS:
            self.code[title].value = code_block(self.snippets.get(title, _MISSING.get(title, "")))
        self.snippet_box.layout.display = None
        self.box.layout.display = None

    def _toggled(self, _change: object = None) -> None:
        hidden = self.nsfw and not self.nsfw_toggle.value
        self.image.layout.display = "none" if hidden else None
        self.nsfw_toggle.description = "Hide" if self.nsfw_toggle.value else "Show anyway"
