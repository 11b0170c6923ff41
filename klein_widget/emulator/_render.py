"""Emulator images: pleasant, deterministic, clearly fake.

`render_png(prompt, seed, width, height)` paints a soft landscape (sky gradient, sun or
moon, clouds, layered hills / mountains / sea / city / forest / dunes) and stamps a
"klein emulator" badge with the seed and the first words of the prompt, so nobody takes
it for the model's output. A few words of the prompt choose the palette and scene, and
nothing else in it counts (`klein_widget.emulator._palette` lists exactly which: the last
colour words win); the seed chooses the composition (where the sun sits, the shape of the land, the
clouds), so "same seed, new prompt" keeps the layout and changes the look.

The same (prompt, seed, width, height) always gives the same bytes. The scene is
painted at low resolution and scaled up (shapes are soft anyway), and the PNG is
written with fast compression: a 1536x1536 image takes well under the model's 0.6 s.

An edit's stand-in (`edit_png`) keeps its reference's layout, as an edit does: the first
reference is fitted to the output size (its own size when the request names none), toned
by the prompt's colour words with the same palette rules (the last colour words win;
"night" darkens), lit by a soft glow where the seed puts it, with the other references as
small insets ("image 2", "image 3", ...), and stamped "klein emulator · edit" in the
top-left corner so nobody takes it for the model's work. The same (prompt, seed, size,
references' bytes) always gives the same PNG.

Example:
    >>> png = render_png("a red fox at sunset", 42, 512, 384)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    >>> edit_png("make it purple", 7, 320, 256, (png,))[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps
from PIL.PngImagePlugin import PngInfo

from klein_widget.client._constants import MAX_IMAGE_PIXELS
from klein_widget.emulator._palette import RGB, digest, mix, palette_words, read_scene
from klein_widget.emulator._scenery import paint

__all__ = ["BADGE_TEXT", "EDIT_BADGE", "badge", "edit_png", "open_reference", "render_png"]

BADGE_TEXT = "klein emulator"
EDIT_BADGE = f"{BADGE_TEXT} \u00b7 edit"
# The long side of the painted scene before scaling up: enough for soft shapes, cheap.
_PAINT_SIDE = 448
_PNG_COMPRESS_LEVEL = 1
_BLACK, _WHITE = (0, 0, 0), (255, 255, 255)
_TONE = 0.72  # how much of the recoloured picture shows over the reference (colour words)
_TINT = 0.3  # without colour words: the scene's light only


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font scales when FreeType is present (it is in the wheels).
    return ImageFont.load_default(size=size)


_CAPTION_CHARS = 120  # more never fits the badge; measuring more only costs time


def _caption(
    prompt: str,
    draw: ImageDraw.ImageDraw,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    max_width: float,
) -> str:
    words = prompt[: _CAPTION_CHARS * 2].split()  # a 900k-character prompt draws no slower
    text = " ".join(words[:8])[:_CAPTION_CHARS]
    shortened = len(words) > 8 or len(text) < len(" ".join(words[:8]))
    while text and draw.textlength(f"\u201c{text}\u2026\u201d", font=font) > max_width:
        text = text[: -max(1, len(text) // 8)].rstrip()
        shortened = True
    return f"\u201c{text}{chr(0x2026) if shortened else ''}\u201d"


def badge(
    image: Image.Image, prompt: str, seed: int, *, title: str = BADGE_TEXT, top: bool = False
) -> None:
    """Stamp the bottom-left corner (``top``: the top-left): who made this (``title``), with
    which seed and prompt."""
    w, h = image.size
    size = max(11, round(min(w, h) / 38))
    title_font, body_font = _font(size), _font(max(10, round(size * 0.85)))
    pad, gap = round(size * 0.6), round(size * 0.3)
    probe = ImageDraw.Draw(image)
    title = f"{title} \u00b7 seed {seed}"
    caption = _caption(prompt, probe, body_font, w * 0.8 - 2 * pad)
    text_w = max(
        probe.textlength(title, font=title_font), probe.textlength(caption, font=body_font)
    )
    box_w = round(min(w - 2 * pad, text_w + 2 * pad))
    box_h = round(size + gap + size * 0.85 + 2 * pad)
    x0, y0 = pad, pad if top else h - box_h - pad
    region = image.crop((x0, y0, x0 + box_w, y0 + box_h)).convert("RGBA")
    overlay = Image.new("RGBA", region.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rounded_rectangle(
        [0, 0, box_w - 1, box_h - 1],
        radius=pad,
        fill=(12, 14, 24, 168),
        outline=(255, 255, 255, 90),
    )
    draw.text((pad, pad), title, font=title_font, fill=(255, 214, 102, 255))
    draw.text((pad, pad + size + gap), caption, font=body_font, fill=(236, 238, 244, 255))
    image.paste(Image.alpha_composite(region, overlay).convert("RGB"), (x0, y0))


def render_png(
    prompt: str, seed: int, width: int, height: int, *, title: str = BADGE_TEXT
) -> bytes:
    """Render the emulator's picture for a request, as PNG bytes of exactly ``width x height``
    (``title``: the badge's first words).

    Example:
        >>> from PIL import Image; import io
        >>> Image.open(io.BytesIO(render_png("teal sea", 7, 320, 256))).size
        (320, 256)
    """
    scale = min(1.0, _PAINT_SIDE / max(width, height))
    small = (max(16, round(width * scale)), max(16, round(height * scale)))
    image = paint(read_scene(prompt), seed, small)
    if small != (width, height):
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    badge(image, prompt, seed, title=title)
    return _png(image, "klein-widget emulator (not a model output)")


def _png(image: Image.Image, software: str) -> bytes:
    """``image`` as PNG bytes, fast to write, saying which stand-in it is."""
    info = PngInfo()
    info.add_text("Software", software)
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=_PNG_COMPRESS_LEVEL, pnginfo=info)
    return buf.getvalue()


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
    """An edit's stand-in as PNG bytes of exactly ``width x height`` (see the module doc)."""
    first, *others = (open_reference(data) for data in references)
    image = ImageOps.fit(first, (width, height), Image.Resampling.BICUBIC)
    image = _tone(image, prompt)
    _glow(image, prompt, seed)
    _insets(image, others)
    # Top left: a reference that is itself a stand-in keeps its own stamp, recoloured.
    badge(image, prompt, seed, title=EDIT_BADGE, top=True)
    return _png(image, "klein-widget emulator edit (not a model output)")
