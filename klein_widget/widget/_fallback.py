"""The panel's static fallback: plain HTML beside the live view, for a saved notebook.

A notebook saved with a panel holds the widget's view (which needs a kernel) and this
HTML output: the last image as a JPEG (`klein_widget.ui._images.thumbnail`), its
parameters and its Python snippet. The panel updates it (by its display id) as images
arrive, so GitHub, nbviewer or a notebook opened without a kernel show what was made.
Once a view's kernel answers, panel.js hides the fallback of that output area (the live
view shows the same thing); a view drawn from a saved notebook's widget state with no
kernel behind it shrinks to one line and leaves the fallback visible.

Example:
    >>> "klein-fallback" in fallback_html(None)
    True
"""

from __future__ import annotations

import base64
import html

from klein_widget.client._models import GenerationRequest
from klein_widget.ui._figure import nsfw_gate
from klein_widget.ui._images import ThumbnailError, thumbnail

__all__ = ["FALLBACK_SIDE", "fallback_html"]

FALLBACK_SIDE = 512  # px, long side of the image kept in the saved notebook

_CSS = (
    "font-family: system-ui, sans-serif; font-size: 13px; border: 1px solid #8888; "
    "border-radius: 6px; padding: 8px 12px; max-width: 760px; overflow-wrap: anywhere"
)


def fallback_html(
    request: GenerationRequest | None,
    image: bytes | None = None,
    *,
    status: str = "",
    python: str = "",
    nsfw: bool = False,
    alt: str = "",
) -> str:
    """The static card: the image with its prompt, how it was made (``status``, else its
    size and seed) and its snippet, or a note that none was made yet. A flagged image is
    closed behind "Show / hide" (`klein_widget.ui._figure.nsfw_gate`); ``alt`` is its alt
    text (default: the prompt). Every user text is escaped.

    Example:
        >>> fallback_html(GenerationRequest("a <b>fox</b>", seed=1), None).count("&lt;b&gt;")
        1
    """
    title = "<b>FLUX.2 [klein] panel</b>"
    if request is None:
        body = "<p>No image made yet. Run the cell to use the panel.</p>"
        return f'<div class="klein-fallback" style="{_CSS}">{title}{body}</div>'
    prompt = html.escape(request.prompt)
    picture = ""
    if image is not None:
        try:
            data = base64.b64encode(thumbnail(image, FALLBACK_SIDE)).decode("ascii")
            picture = nsfw_gate(
                f'<img src="data:image/jpeg;base64,{data}" '
                f'alt="{html.escape(alt or request.prompt, quote=True)}" '
                'style="max-width: 100%; max-height: 512px; border-radius: 4px; display: block">',
                nsfw=nsfw,
            )
        except ThumbnailError as error:
            picture = f"<p>{html.escape(str(error))}</p>"
    # The status line already says the seed and size: each fact once.
    size = f"{request.width}×{request.height} · seed {request.seed}"
    how = html.escape(status) if status else size
    facts = f"<p>{prompt}<br>{how}</p>"
    code = (
        '<pre style="white-space: pre-wrap; font-size: 12px; margin: 0; '
        'font-family: var(--jp-code-font-family, ui-monospace, monospace)">'
        f"{html.escape(python)}</pre>"
        if python
        else ""
    )
    return f'<div class="klein-fallback" style="{_CSS}">{title}{picture}{facts}{code}</div>'
