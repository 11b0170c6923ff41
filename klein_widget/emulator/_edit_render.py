"""The emulator's edit stand-in: the first reference, visibly recoloured by the prompt.

An edit keeps its reference's layout, so the stand-in does too: the first reference is
fitted to the output size (its own size when the request names none), toned by the
prompt's colour words with the same palette rules as a generated stand-in
(`klein_widget.emulator._palette`: the last colour words win; "night" darkens), lit by a
soft glow where the seed puts it, with the other references as small insets ("image 2",
"image 3", ...), and stamped "klein emulator · edit" in the top-left corner so nobody
takes it for the model's work. The same (prompt, seed, size, references' bytes) always
gives the same PNG.

Example:
    >>> from klein_widget.emulator._render import render_png
    >>> ref = render_png("green hills", 1, 320, 256)
    >>> edit_png("make it purple", 7, 320, 256, (ref,))[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from PIL.PngImagePlugin import PngInfo

from klein_widget.client._constants import MAX_IMAGE_PIXELS
from klein_widget.emulator._palette import RGB, digest, mix, palette_words, read_scene
from klein_widget.emulator._render import BADGE_TEXT, badge

__all__ = ["EDIT_BADGE", "edit_png", "open_reference"]

EDIT_BADGE = f"{BADGE_TEXT} \u00b7 edit"
_BLACK, _WHITE = (0, 0, 0), (255, 255, 255)
_TONE = 0.72  # how much of the recoloured picture shows over the reference (colour words)
_TINT = 0.3  # without colour words: the scene's light only


def open_reference(data: bytes) -> Image.Image:
    """Decode one reference image (RGB), refusing what is not an image or too large.

    Raises `ValueError` with a sentence a user can act on.
    """
    try:
        with Image.open(io.BytesIO(data)) as probe:
            w, h = probe.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ValueError(f"the image is {w}x{h}: larger than the model reads")
            rgb: Image.Image = probe.convert("RGB")
            return rgb
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"it is not an image the emulator can read ({exc})") from None


def _tone(image: Image.Image, prompt: str) -> Image.Image:
    scene = read_scene(prompt)
    names = palette_words(prompt)
    gray = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=1)
    if names:
        colours: list[RGB] = [c for c in (scene.accent, scene.ground, scene.sky_horizon) if c]
        first, last = colours[0], colours[-1]
        toned = ImageOps.colorize(
            gray, black=mix(first, _BLACK, 0.75), mid=first, white=mix(last, _WHITE, 0.55)
        )
        out = Image.blend(image, toned, _TONE)
    else:
        toned = ImageOps.colorize(
            gray, black=mix(scene.ground, _BLACK, 0.7), white=mix(scene.sky_horizon, _WHITE, 0.5)
        )
        out = Image.blend(image, toned, _TINT)
    if scene.time == "night":
        out = ImageEnhance.Brightness(out).enhance(0.55)
    elif scene.winter:
        out = Image.blend(out, Image.new("RGB", out.size, (236, 242, 250)), 0.35)
    return out


def _glow(image: Image.Image, prompt: str, seed: int) -> None:
    """A soft light where the seed puts it: a new seed, a new take on the same edit."""
    w, h = image.size
    rng = random.Random(digest("edit glow", seed))
    radius = round(min(w, h) * rng.uniform(0.25, 0.45))
    x, y = round(w * rng.uniform(0.15, 0.85)), round(h * rng.uniform(0.15, 0.6))
    halo = Image.radial_gradient("L").resize((radius * 2, radius * 2))
    halo = halo.point(lambda v: round(max(0.0, 1 - v / 181) ** 2 * 110))
    mask = Image.new("L", (w, h), 0)
    mask.paste(halo, (x - radius, y - radius))
    image.paste(Image.new("RGB", (w, h), read_scene(prompt).sun), (0, 0), mask)


def _insets(image: Image.Image, others: list[Image.Image]) -> None:
    """The other references, small, along the top right, each labelled as prompts name it."""
    w, h = image.size
    side = max(32, round(min(w, h) * 0.2))
    pad = max(4, side // 12)
    draw = ImageDraw.Draw(image)
    for i, other in enumerate(others):
        thumb = ImageOps.fit(other, (side, side), Image.Resampling.BICUBIC)
        x0 = w - (i + 1) * (side + pad)
        if x0 < 0:
            break
        image.paste(thumb, (x0, pad))
        draw.rectangle([x0 - 1, pad - 1, x0 + side, pad + side], outline=_WHITE, width=2)
        draw.text((x0 + 4, pad + 2), f"image {i + 2}", fill=_WHITE, stroke_width=2,
                  stroke_fill=_BLACK)  # fmt: skip


def edit_png(
    prompt: str, seed: int, width: int, height: int, references: tuple[bytes, ...]
) -> bytes:
    """The edit stand-in as PNG bytes of exactly ``width x height`` (see the module doc)."""
    first, *others = (open_reference(data) for data in references)
    image = ImageOps.fit(first, (width, height), Image.Resampling.BICUBIC)
    image = _tone(image, prompt)
    _glow(image, prompt, seed)
    _insets(image, others)
    # Top left: a reference that is itself a stand-in keeps its own stamp, recoloured.
    badge(image, prompt, seed, title=EDIT_BADGE, top=True)
    info = PngInfo()
    info.add_text("Software", "klein-widget emulator edit (not a model output)")
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1, pnginfo=info)
    return buf.getvalue()
