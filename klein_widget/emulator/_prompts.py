"""The emulator's prompt optimizer: a richer prompt built from the input, deterministically.

It stands in for WaveSpeed's ``wavespeed-ai/prompt-optimizer`` model: it keeps the
user's words first and adds a medium, lighting, composition and detail phrases, chosen
from a hash of the text (and the requested style), skipping lighting when the prompt
already sets it. The same input always gives the same output.

Example:
    >>> enhance_prompt("a red fox in the snow").startswith("A red fox in the snow, ")
    True
"""

from __future__ import annotations

import hashlib
import random
import re

__all__ = ["MODES", "enhance_prompt"]

MODES = ("image", "video")

_MEDIUMS: dict[str, tuple[str, ...]] = {
    "default": (
        "captured as a cinematic photograph",
        "rendered as a detailed digital painting",
        "shown as a crisp editorial photograph",
        "painted as a soft, luminous illustration",
    ),
    "artistic": (
        "painted in loose, expressive oil brushstrokes",
        "as a delicate watercolour with soft bleeding edges",
        "as a gouache illustration with bold shapes",
    ),
    "photographic": (
        "shot on a full-frame camera with a 50mm lens",
        "as a professional photograph, 85mm lens at f/1.8",
        "as a documentary-style photograph with natural colour",
    ),
    "realistic": (
        "as a photorealistic image with true-to-life materials",
        "in hyperrealistic detail with accurate proportions",
    ),
    "technical": (
        "as a precise technical illustration with clean lines",
        "as an exploded-view diagram with labelled parts, neutral background",
    ),
    "anime": (
        "as an anime key visual with clean line art",
        "in a hand-drawn anime style with cel shading",
    ),
}
_LIGHTING = (
    "soft golden-hour light",
    "gentle diffused morning light",
    "dramatic rim lighting",
    "warm light and long soft shadows",
    "cool blue-hour light",
    "moody overcast light",
)
_COMPOSITION = (
    "rule-of-thirds composition",
    "centred symmetrical composition",
    "low-angle wide shot",
    "close-up with shallow depth of field",
    "wide establishing shot with layered depth",
)
_DETAILS = (
    "rich textures",
    "fine detail",
    "subtle film grain",
    "vivid but natural colours",
    "crisp focus on the subject",
    "a harmonious colour palette",
)
_MOTION = ("slow camera push-in", "gentle parallax pan", "smooth tracking shot")
# Words that already set the light: do not add a second, clashing one.
_LIGHT_WORDS = re.compile(
    r"\b(light|lit|lighting|sunset|sunrise|dawn|dusk|night|glow|glowing|neon|golden hour|"
    r"moonlight|shadow|shadows|backlit|twilight)\b",
    re.IGNORECASE,
)


def enhance_prompt(text: str, *, style: str = "default", mode: str = "image") -> str:
    """Return a fuller prompt for ``text``; deterministic in (text, style, mode).

    Example:
        >>> enhance_prompt("a cat") == enhance_prompt("a cat")
        True
    """
    core = " ".join(text.split()).rstrip(" .,;:!")
    key = f"{core.lower()}\x00{style}\x00{mode}".encode()
    rng = random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))
    phrases = [rng.choice(_MEDIUMS.get(style, _MEDIUMS["default"]))]
    if not _LIGHT_WORDS.search(core):
        phrases.append(f"with {rng.choice(_LIGHTING)}")
    phrases.append(rng.choice(_COMPOSITION))
    first, second = rng.sample(_DETAILS, 2)
    phrases.append(f"{first} and {second}")
    if mode == "video":
        phrases.append(rng.choice(_MOTION))
    head = core[:1].upper() + core[1:]
    return f"{head}, {', '.join(phrases)}."
