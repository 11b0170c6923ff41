"""Every door's picture, honestly labelled: alt text, and flagged images hidden.

The emulator draws stand-ins (a gradient scene, not the prompt), so their alt text says
so: ``emulator stand-in for: <prompt>``. A real image's alt text is its prompt, with a
note that this is the prompt, not a description of what the model drew. The panel, its
history, ``%klein``, the grids and the saved-notebook fallback all use `alt_text`.

An image the server flagged as possibly unsafe (NSFW) is hidden behind one control
everywhere: the panel's "Show / hide" button, and in static HTML (``%klein``, grids, the
saved-notebook fallback) a ``<details>`` element with the same words (`nsfw_gate`), which
works without JavaScript and survives a saved notebook's sanitizer.

Example:
    >>> alt_text("a red fox", stand_in=True)
    'emulator stand-in for: a red fox'
    >>> alt_text("a red fox", stand_in=False)
    'a red fox (the prompt this image was made from, not a description of it)'
"""

from __future__ import annotations

import html

from klein_widget.client._generation import Generation

__all__ = ["NSFW_NOTE", "alt_text", "generation_alt", "nsfw_gate"]

NSFW_NOTE = "The server flagged this image as possibly unsafe (NSFW), so it is hidden."
PROMPT_NOTE = "(the prompt this image was made from, not a description of it)"


def alt_text(prompt: str, *, stand_in: bool) -> str:
    """The alt text of an image made from ``prompt`` (``stand_in``: by the emulator)."""
    return f"emulator stand-in for: {prompt}" if stand_in else f"{prompt} {PROMPT_NOTE}"


def generation_alt(generation: Generation, base_url: str | None = None) -> str:
    """`alt_text` for ``generation``: a stand-in if an emulator drew it, by the provenance
    the image carries (`Generation.simulated`, recorded by the client from the server's
    answers and kept by the gallery, so an emulator image restored while a real key is set
    is still a stand-in; unknown provenance counts as simulated). ``base_url``, where the
    image is shown from, does not decide it: a gallery holds images of several servers.

    Example:
        >>> generation_alt(generation, "https://api.wavespeed.ai")  # doctest: +SKIP
        'a red fox (the prompt this image was made from, not a description of it)'
    """
    return alt_text(generation.prompt, stand_in=generation.simulated)


def nsfw_gate(picture: str, *, nsfw: bool) -> str:
    """``picture`` (HTML) as is, or, if flagged, closed behind "Show / hide".

    Example:
        >>> nsfw_gate("<img>", nsfw=True).startswith("<details")
        True
        >>> nsfw_gate("<img>", nsfw=False)
        '<img>'
    """
    if not nsfw:
        return picture
    return (
        '<details class="klein-nsfw"><summary style="cursor: pointer;">'
        f"{html.escape(NSFW_NOTE)} <u>Show / hide</u></summary>{picture}</details>"
    )
