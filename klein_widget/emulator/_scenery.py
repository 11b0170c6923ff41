"""The emulator's scenery: a soft landscape painted at low resolution (sky gradient, sun
or moon, stars, clouds, layered hills / mountains / sea / city / forest / dunes, a
darker foreground). The scene's words choose the palette and kind (`_palette`); the seed
alone chooses the composition. `klein_widget.emulator._render` scales it up and stamps
its badge.

Example:
    >>> from klein_widget.emulator._palette import read_scene
    >>> paint(read_scene("snowy mountains at night"), 7, (96, 64)).size
    (96, 64)
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw, ImageFilter

from klein_widget.emulator._palette import RGB, Scene, digest, mix

__all__ = ["paint"]


def _vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _glow(
    canvas: Image.Image, centre: tuple[float, float], radius: float, colour: RGB, strength: float
) -> None:
    """Brighten a soft disc around ``centre`` (the halo of the sun or moon)."""
    w, h = canvas.size
    box = round(radius * 2)
    halo = Image.radial_gradient("L").resize((box, box), Image.Resampling.BILINEAR)
    # radial_gradient is 0 in the middle and 181 at the middle of each edge: invert it,
    # reach zero at the edge (no visible square) and fall off softly.
    halo = halo.point(lambda v: round(max(0.0, 1 - v / 181) ** 2 * 255 * strength))
    layer = Image.new("L", (w, h), 0)
    layer.paste(halo, (round(centre[0] - radius), round(centre[1] - radius)))
    canvas.paste(Image.new("RGB", (w, h), colour), (0, 0), layer)


def _ridge(rng: random.Random, w: int, base: float, amp: float, kind: str) -> list[float]:
    """The height of one land layer at each x, in pixels from the top."""
    if kind == "mountains":
        peaks = [(rng.uniform(-0.1, 1.1) * w, rng.uniform(0.4, 1.0) * amp) for _ in range(5)]
        return [
            base - max(p - abs(x - px) * (1.1 + 0.6 * (p / amp)) for px, p in peaks) * 1.0
            for x in range(w + 1)
        ]
    if kind == "sea":
        phase = rng.uniform(0, 6.28)
        return [base + math.sin(x / w * 18 + phase) * amp * 0.04 for x in range(w + 1)]
    waves = [(rng.uniform(1.0, 3.5), rng.uniform(0, 6.28), rng.uniform(0.3, 1.0)) for _ in range(3)]
    scale = 0.35 if kind == "desert" else 1.0
    return [
        base - scale * amp * sum(a * math.sin(x / w * f * 6.28 + p) for f, p, a in waves) / 2
        for x in range(w + 1)
    ]


def _land(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    size: tuple[int, int],
    scene: Scene,
    horizon: float,
) -> None:
    w, h = size
    layers = 4
    for i in range(layers):
        depth = i / max(1, layers - 1)  # 0 far, 1 near
        haze = 0.62 * (1 - depth)
        darken = (0.1 if scene.winter else 0.28) * depth  # snow stays bright up close
        colour = mix(mix(scene.ground, (0, 0, 0), darken), scene.sky_horizon, haze)
        base = horizon + (h - horizon) * (0.05 + 0.32 * depth)
        amp = h * (0.16 if scene.kind == "mountains" else 0.07) * (1.2 - 0.5 * depth)
        kind = scene.kind if scene.kind in ("mountains", "desert") else "hills"
        if scene.kind == "mountains" and depth == 1:
            kind = "hills"  # mountains behind, a meadow in front
        ys = _ridge(rng, w, base, amp, kind)
        draw.polygon([(0, h), *((x, y) for x, y in enumerate(ys)), (w, h)], fill=colour)
        if scene.kind == "city" and i == 1:
            _skyline(draw, rng, size, base, mix(colour, scene.sky_top, 0.25), scene)
        if scene.kind == "forest" and i >= 1:
            _trees(
                draw,
                rng,
                ys,
                h * (0.05 + 0.05 * depth),
                mix(colour, (0, 0, 0), 0.15 + 0.1 * depth),
                6 + i * 5,
            )


def _sea(
    canvas: Image.Image, rng: random.Random, scene: Scene, horizon: float, sun_x: float
) -> None:
    """A far coast, water that mirrors the sky, the sun's glitter path, ripples."""
    w, h = canvas.size
    draw = ImageDraw.Draw(canvas)
    coast = _ridge(rng, w, horizon + 1, h * 0.035, "hills")
    draw.polygon(
        [(0, h), *((x, y) for x, y in enumerate(coast)), (w, h)],
        fill=mix(mix(scene.ground, (0, 0, 0), 0.3), scene.sky_horizon, 0.55),
    )
    top = round(horizon + h * 0.02)
    water = _vertical_gradient(
        (w, h - top),
        mix(scene.sky_horizon, scene.ground, 0.35),
        mix(scene.ground, (0, 0, 0), 0.35),
    )
    canvas.paste(water, (0, top))
    glitter = Image.new("L", (w, h), 0)
    path = ImageDraw.Draw(glitter)
    for k in range(28):
        y = top + (h - top) * (k / 28) ** 1.4
        half = w * (0.02 + 0.1 * k / 28) * rng.uniform(0.5, 1.2)
        path.line([(sun_x - half, y), (sun_x + half, y)], fill=rng.randint(90, 170), width=1)
    canvas.paste(Image.new("RGB", (w, h), scene.sun), (0, 0), glitter)
    ripple = mix(mix(scene.sky_horizon, scene.ground, 0.35), (255, 255, 255), 0.18)
    for _ in range(40):
        y = top + (h - top) * rng.random() ** 1.6
        x, length = rng.uniform(0, w), rng.uniform(0.03, 0.12) * w
        draw.line([(x, y), (x + length, y)], fill=ripple, width=1)


def _skyline(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    size: tuple[int, int],
    base: float,
    colour: RGB,
    scene: Scene,
) -> None:
    w, h = size
    x = -rng.uniform(0, w * 0.05)
    window = mix(scene.accent or (255, 214, 120), (255, 240, 200), 0.4)
    while x < w:
        bw = rng.uniform(0.04, 0.1) * w
        bh = rng.uniform(0.08, 0.3) * h
        draw.rectangle([x, base - bh, x + bw, h], fill=colour)
        if scene.time in ("night", "sunset"):
            for _ in range(int(bh / h * 30)):
                wx, wy = rng.uniform(x + 2, x + bw - 3), rng.uniform(base - bh + 3, base)
                draw.rectangle([wx, wy, wx + 1.5, wy + 1.5], fill=window)
        x += bw + rng.uniform(0, 0.02) * w


def _trees(
    draw: ImageDraw.ImageDraw,
    rng: random.Random,
    ys: list[float],
    height: float,
    colour: RGB,
    count: int,
) -> None:
    w = len(ys) - 1
    for _ in range(count):
        x = rng.uniform(0, w)
        y = ys[min(w, max(0, round(x)))] + 2
        th = height * rng.uniform(0.7, 1.3)
        draw.polygon([(x - th * 0.3, y), (x, y - th), (x + th * 0.3, y)], fill=colour)


def _clouds(canvas: Image.Image, rng: random.Random, horizon: float, scene: Scene) -> None:
    w, h = canvas.size
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    for _ in range(rng.randint(2, 5)):
        cx, cy = rng.uniform(0, w), rng.uniform(0.08, 0.75) * horizon
        cw = rng.uniform(0.12, 0.3) * w
        for _ in range(5):
            dx, dy = rng.uniform(-0.5, 0.5) * cw, rng.uniform(-0.12, 0.12) * cw
            r = rng.uniform(0.18, 0.32) * cw
            draw.ellipse(
                [cx + dx - r, cy + dy - r * 0.6, cx + dx + r, cy + dy + r * 0.6],
                fill=150 if scene.time != "night" else 60,
            )
    layer = layer.filter(ImageFilter.GaussianBlur(max(2, w // 60)))
    tint = mix((255, 255, 255), scene.sun, 0.35)
    canvas.paste(Image.new("RGB", (w, h), tint), (0, 0), layer)


def paint(scene: Scene, seed: int, size: tuple[int, int]) -> Image.Image:
    """The scene at low resolution; the composition comes from the seed alone."""
    w, h = size
    rng = random.Random(digest("composition", seed))
    horizon = h * rng.uniform(0.5, 0.68)
    canvas = _vertical_gradient((w, h), scene.sky_top, scene.sky_horizon)
    if scene.time == "night":
        draw = ImageDraw.Draw(canvas)
        star = random.Random(digest("stars", seed))
        for _ in range(w * h // 900):
            x, y = star.uniform(0, w), star.uniform(0, horizon)
            v = star.randint(150, 255)
            draw.point((x, y), fill=(v, v, min(255, v + 10)))
    sun_x = w * rng.uniform(0.15, 0.85)
    sun_y = horizon * rng.uniform(0.25, 0.8)
    radius = min(w, h) * rng.uniform(0.05, 0.09)
    _glow(canvas, (sun_x, sun_y), radius * 5, scene.sun, 0.45)
    _clouds(canvas, rng, horizon, scene)
    draw = ImageDraw.Draw(canvas)
    draw.ellipse([sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius], fill=scene.sun)
    if scene.kind == "sea":
        _sea(canvas, rng, scene, horizon, sun_x)
    else:
        _land(draw, rng, (w, h), scene, horizon)
    _shade(canvas, horizon)
    return canvas.filter(ImageFilter.SMOOTH)


def _shade(canvas: Image.Image, horizon: float) -> None:
    """Darken gently from the horizon down, so the foreground has depth, not a flat fill."""
    w, h = canvas.size
    top = round(horizon)
    if top >= h:
        return
    mask = Image.linear_gradient("L").resize((w, h - top), Image.Resampling.BILINEAR)
    mask = mask.point(lambda v: round(v * 0.35))
    canvas.paste(Image.new("RGB", (w, h - top), (8, 10, 20)), (0, top), mask)
