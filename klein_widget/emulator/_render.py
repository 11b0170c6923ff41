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

Example:
    >>> png = render_png("a red fox at sunset", 42, 512, 384)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from klein_widget.emulator._palette import read_scene
from klein_widget.emulator._scenery import paint

__all__ = ["BADGE_TEXT", "badge", "render_png"]

BADGE_TEXT = "klein emulator"
# The long side of the painted scene before scaling up: enough for soft shapes, cheap.
_PAINT_SIDE = 448
_PNG_COMPRESS_LEVEL = 1


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
    info = PngInfo()
    info.add_text("Software", "klein-widget emulator (not a model output)")
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=_PNG_COMPRESS_LEVEL, pnginfo=info)
    return buf.getvalue()
