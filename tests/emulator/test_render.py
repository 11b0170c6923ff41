"""Emulator images: exact size, deterministic, smooth, prompt- and seed-driven, clearly marked."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat

from klein_widget.emulator._palette import palette_words, read_scene
from klein_widget.emulator._render import render_png


def load(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference per channel, 0-255."""
    return sum(ImageStat.Stat(ImageChops.difference(load(a), load(b))).mean) / 3


@pytest.mark.parametrize("size", [(256, 256), (1536, 256), (256, 1536), (1000, 600), (1536, 1536)])
def test_png_of_exactly_the_requested_size(size: tuple[int, int]) -> None:
    png = render_png("a teal sea", 1, *size)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = load(png)
    assert (image.format, image.size, image.mode) == ("PNG", size, "RGB")


def test_same_inputs_give_identical_bytes() -> None:
    assert render_png("a red fox", 42, 512, 512) == render_png("a red fox", 42, 512, 512)


def test_seed_and_prompt_change_the_picture_visibly() -> None:
    base = render_png("a quiet valley", 1, 384, 384)
    assert difference(base, render_png("a quiet valley", 2, 384, 384)) > 8
    assert difference(base, render_png("a city at night", 1, 384, 384)) > 8


def test_colour_words_set_the_palette() -> None:
    def warmth(prompt: str) -> float:
        r, _, b = ImageStat.Stat(load(render_png(prompt, 5, 256, 256))).mean
        return r - b

    assert warmth("red and orange hills") > warmth("blue and navy hills") + 20


# Lesson 02's colour step: one subject and light, three palettes written last.
LESSON_PALETTES = ["teal and orange", "muted greys and soft blues", "bright red, cream and navy"]
SUBJECT = "a vintage travel poster of a striped lighthouse on a headland, golden hour sunlight"


def test_the_last_colour_words_win_and_plurals_count() -> None:
    assert palette_words("a red barn, teal and orange") == ("red", "teal", "orange")
    assert palette_words("a red barn, in teal, orange and navy") == ("teal", "orange", "navy")
    assert palette_words("muted greys and soft blues") == ("grey", "blue")
    assert palette_words("golden hour sunlight") == ()  # light, not a palette
    late = read_scene("a red-and-white lighthouse, teal and orange")
    assert late.accent == read_scene("a lighthouse, white, teal and orange").accent


def test_a_prompt_without_scene_words_gets_the_plain_scene_not_a_chance_one() -> None:
    scenes = [read_scene(p) for p in ("a cat", "a dog", "a portrait photo of a CEO", "a sign")]
    assert {(s.kind, s.time, s.winter) for s in scenes} == {("hills", "day", False)}
    assert read_scene("a cat at night by the sea").kind == "sea"


def test_colour_words_of_other_languages_count() -> None:
    for prompt in ("ein roter Fuchs", "un renard rouge", "un zorro rojo", "una volpe rossa"):
        assert palette_words(prompt) == ("red",), prompt
        assert read_scene(prompt).accent == read_scene("a red fox").accent
    assert palette_words("bleu, vert et jaune") == ("blue", "green", "yellow")
    assert palette_words("grüne Wälder, azules") == ("green", "blue")
    assert read_scene("ein roter Fuchs im Schnee").winter
    assert read_scene("un zorro rojo en la nieve").winter


def test_hex_colour_codes_count_as_colours() -> None:
    assert palette_words("a red boat, background #1E90FF, sail #ff6f3c") == (
        "red",
        "#1e90ff",
        "#ff6f3c",
    )
    assert palette_words("issue #123456789 and #12345") == ()  # not a colour code
    assert read_scene("a sail, #D63A34").accent == read_scene("a sail, red").accent


def test_the_lessons_palettes_give_clearly_different_pictures() -> None:
    pictures = [render_png(f"{SUBJECT}, {palette}", 7, 256, 256) for palette in LESSON_PALETTES]
    for i, first in enumerate(pictures):
        for second in pictures[i + 1 :]:
            assert difference(first, second) > 12


def test_smooth_not_noise() -> None:
    image = load(render_png("mountains at dawn", 9, 512, 512)).convert("L")
    shifted = image.crop((1, 0, 512, 512))
    step = ImageStat.Stat(ImageChops.difference(image.crop((0, 0, 511, 512)), shifted)).mean[0]
    assert step < 3  # neighbouring pixels are close: gradients and soft shapes


def test_badge_marks_it_as_emulator_output() -> None:
    png = render_png("a red fox", 42, 512, 512)
    image = load(png)
    assert "emulator" in image.info["Software"]
    # The badge's amber title text sits in the bottom-left corner.
    corner = image.crop((0, 400, 300, 512))
    pixels: list[tuple[int, int, int]] = list(corner.get_flattened_data())  # type: ignore[arg-type]
    amber = [p for p in pixels if p[0] > 220 and 180 < p[1] < 235 and p[2] < 140]
    assert len(amber) > 30
    # And the badge changes with the prompt's words even where the scene agrees.
    assert render_png("a red fox", 42, 512, 512) != render_png("a red fox!", 42, 512, 512)


def test_a_huge_prompt_is_read_and_drawn_from_its_start_only() -> None:
    """A 900k-character prompt once held the emulator's loop for 11 s while its caption
    was measured: only the start of a prompt is read and drawn now."""
    from klein_widget.emulator._palette import read_scene
    from klein_widget.emulator._render import _caption

    huge = "x" * 900_000
    assert read_scene(huge + " red").accent is None  # a colour word past the cap is not read
    assert read_scene("red " + huge).accent is not None  # one before it is
    probe = ImageDraw.Draw(Image.new("RGB", (64, 64)))
    caption = _caption(huge, probe, ImageFont.load_default(), 400)
    assert caption.endswith("\u2026\u201d")
    assert len(caption) < 130
    assert load(render_png(huge, 1, 256, 256)).size == (256, 256)
