"""What a prompt looks like on the emulator: palette, time of day and kind of landscape.

An emulator picture is a stand-in, not a drawing of the prompt. Exactly these things in
a prompt change it, and nothing else (subjects, styles, counts, text, moods are ignored):

* **colour words** set the palette, and **the last ones win**: the prompt's last three
  colour words (`palette_words`) tint the sun and upper sky (the first of the three), the
  land (the second) and the horizon (the last), so a palette written at the end of a
  prompt beats a colour mentioned earlier. Plurals count ("greys", "blues"), and so do
  the common colour words of German, French, Spanish, Italian and Portuguese ("rot",
  "rouge", "rojo", "rosso", "vermelho"...), and hex codes ("#1E90FF").
* **scene words** ("ocean", "city", "forest", "mountain", "desert", "meadow"...)
  pick the landscape; **time words** ("night", "sunset", "dawn", "noon"...) pick the
  sky; **winter words** ("snow", "ice"..., and "Schnee", "neige", "nieve", "neve") whiten
  the ground. Scene and time words are English only.
* A prompt without scene words gets plain hills, and without time words a day sky: "a
  cat" and "a dog" get the same meadow (a slight tint per prompt keeps their files apart).

The seed sets the layout (`klein_widget.emulator._render`).

Example:
    >>> read_scene("a teal sea at night").kind, read_scene("a teal sea at night").time
    ('sea', 'night')
    >>> palette_words("a red barn, in muted greys and soft blues")
    ('red', 'grey', 'blue')
    >>> palette_words("ein roter Fuchs im Schnee, rouge et bleu")
    ('red', 'red', 'blue')
    >>> palette_words("a poster, background colour #1E90FF, sail colour #FF6F3C")
    ('#1e90ff', '#ff6f3c')
"""

from __future__ import annotations

import colorsys
import hashlib
import random
import re
from dataclasses import dataclass

__all__ = ["RGB", "Scene", "digest", "mix", "palette_words", "read_scene"]

RGB = tuple[int, int, int]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_COLOURS: dict[str, RGB] = {
    "red": (214, 58, 52),
    "crimson": (186, 30, 60),
    "scarlet": (230, 50, 35),
    "orange": (240, 140, 40),
    "amber": (245, 170, 40),
    "gold": (235, 190, 60),
    "yellow": (245, 215, 70),
    "lime": (160, 215, 70),
    "green": (70, 160, 80),
    "emerald": (40, 160, 110),
    "olive": (128, 128, 60),
    "mint": (150, 225, 190),
    "teal": (40, 150, 150),
    "turquoise": (60, 200, 200),
    "cyan": (70, 200, 230),
    "aqua": (90, 210, 220),
    "blue": (60, 110, 210),
    "azure": (80, 150, 235),
    "navy": (30, 45, 110),
    "indigo": (75, 60, 150),
    "violet": (140, 90, 200),
    "purple": (130, 70, 170),
    "lavender": (180, 160, 225),
    "magenta": (205, 60, 170),
    "pink": (240, 140, 180),
    "rose": (225, 110, 140),
    "peach": (250, 185, 150),
    "coral": (245, 120, 100),
    "brown": (130, 85, 55),
    "tan": (200, 165, 120),
    "beige": (225, 205, 170),
    "cream": (245, 235, 205),
    "ivory": (245, 240, 220),
    "ochre": (200, 140, 50),
    "terracotta": (200, 100, 70),
    "maroon": (120, 30, 45),
    "burgundy": (128, 25, 50),
    "white": (240, 240, 235),
    "silver": (190, 195, 205),
    "grey": (135, 140, 150),
    "gray": (135, 140, 150),
    "black": (30, 30, 38),
    "copper": (190, 110, 70),
    "bronze": (170, 120, 60),
}

# Colour words of other languages (adjective forms too: plurals are read as above), by the
# English word they mean.
_FOREIGN_BY_COLOUR = {
    "red": "rot rote roter rotes rouge rojo roja rosso rossa vermelho vermelha",
    "blue": "blau blaue blauer blaues bleu bleue azul blu",
    "green": "grün grüne grüner grünes gruen vert verte verde",
    "yellow": "gelb gelbe gelber gelbes jaune amarillo amarilla giallo gialla amarelo amarela",
    "black": "schwarz schwarze schwarzer noir noire negro negra nero nera preto preta",
    "white": "weiß weiss weiße weisse weißer blanc blanche blanco blanca bianco bianca branco",
    "grey": "grau graue grauer gris grise grigio grigia cinza",
    "brown": "braun braune brauner marron marrón marrone",
    "pink": "rosa",
    "purple": "lila morado morada viola roxo roxa",
    "orange": "naranja arancione laranja roux rousse",
    "turquoise": "türkis turquesa turchese",
    "gold": "doré dorée dorado dorada dorato dourado",
}
_FOREIGN: dict[str, str] = {
    word: colour for colour, words in _FOREIGN_BY_COLOUR.items() for word in _words(words)
}

_SCENES: dict[str, tuple[str, ...]] = {
    "sea": _words(
        "ocean sea beach lake river water wave waves harbor harbour coast island boat "
        "ship sail shore bay fish lighthouse headland"
    ),
    "mountains": _words(
        "mountain mountains peak peaks alps volcano cliff glacier summit ridge rocky himalaya"
    ),
    "city": _words(
        "city street skyline building buildings tower town village cyberpunk castle "
        "downtown skyscraper robot car cafe house"
    ),
    "forest": _words(
        "forest tree trees woods jungle garden park pine oak fox deer owl bear wolf mushroom elf"
    ),
    "desert": _words("desert dune dunes sand canyon mars camel cactus savanna lion"),
    "hills": _words(
        "hill hills meadow field fields farm valley countryside cow sheep horse flower "
        "flowers picnic"
    ),
}
_TIMES: dict[str, tuple[str, ...]] = {
    "night": _words(
        "night moon moonlit moonlight stars starry midnight dark galaxy space neon nocturnal "
        "astronaut"
    ),
    "sunset": _words("sunset dusk evening twilight golden autumn fall fire"),
    "dawn": _words("dawn sunrise morning misty fog foggy spring"),
    "day": _words("day noon sunny summer bright daylight afternoon"),
}
_WINTER = _words(
    "snow snowy winter ice icy frozen arctic frost christmas schnee winter neige hiver nieve "
    "invierno neve inverno"
)

# (sky top, sky at horizon, sun or moon) for each time of day.
_SKIES: dict[str, tuple[RGB, RGB, RGB]] = {
    "day": ((64, 128, 212), (196, 226, 246), (255, 248, 225)),
    "sunset": ((58, 48, 118), (252, 156, 92), (255, 214, 140)),
    "dawn": ((112, 146, 212), (250, 206, 186), (255, 236, 200)),
    "night": ((10, 16, 44), (44, 58, 112), (236, 236, 218)),
}
_GROUNDS: dict[str, RGB] = {
    "hills": (78, 142, 74),
    "forest": (34, 92, 58),
    "mountains": (86, 96, 128),
    "sea": (36, 96, 150),
    "city": (54, 56, 78),
    "desert": (206, 154, 92),
}


@dataclass(frozen=True)
class Scene:
    """The look of one prompt."""

    kind: str
    time: str
    sky_top: RGB
    sky_horizon: RGB
    sun: RGB
    ground: RGB
    accent: RGB | None
    winter: bool


def digest(*parts: object) -> int:
    """A stable 64-bit number from ``parts`` (unlike ``hash``, the same in every process)."""
    text = "\x00".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour a fraction ``t`` of the way from ``a`` to ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _shift_hue(c: RGB, turns: float) -> RGB:
    h, s, v = colorsys.rgb_to_hsv(c[0] / 255, c[1] / 255, c[2] / 255)
    r, g, b = colorsys.hsv_to_rgb((h + turns) % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def _pick(words: list[str], table: dict[str, tuple[str, ...]], fallback: list[str]) -> str:
    for word in words:
        for name, keys in table.items():
            if word in keys:
                return name
    return fallback[0]


# Without scene or time words: one plain scene for every prompt, so that no difference
# between two stand-ins comes from chance (a cat and a dog look alike, as they should here).
_PLAIN_SCENE, _PLAIN_TIME = "hills", "day"
_READ_CHARS = 4000  # the words that set the scene; a huge prompt reads no slower
_PALETTE_SIZE = 3  # the last this many colour words make the palette


_HEX = re.compile(r"#[0-9a-f]{6}(?![0-9a-z])")


def _colour_name(word: str) -> str | None:
    """The colour a word names (English, a plural, another language's word, or a hex code
    such as ``#1e90ff``), if any."""
    if _HEX.fullmatch(word):
        return word
    for form in (
        word,
        word[:-1] if word.endswith("s") else "",
        word[:-2] if word.endswith("es") else "",
    ):
        if form in _COLOURS:
            return form
        if form in _FOREIGN:
            return _FOREIGN[form]
    return None


def _prompt_words(prompt: str) -> list[str]:
    return re.findall(_HEX.pattern + r"|[^\W\d_]+", prompt[:_READ_CHARS].lower())


def _rgb(name: str) -> RGB:
    if name.startswith("#"):
        return (int(name[1:3], 16), int(name[3:5], 16), int(name[5:7], 16))
    return _COLOURS[name]


def palette_words(prompt: str) -> tuple[str, ...]:
    """The colours that make the emulator's palette: the prompt's last three colour words,
    in prompt order, as English names (see the module doc)."""
    found = [name for name in map(_colour_name, _prompt_words(prompt)) if name]
    return tuple(found[-_PALETTE_SIZE:])


def read_scene(prompt: str) -> Scene:
    """Read the palette and the kind of landscape from the prompt's words."""
    words = _prompt_words(prompt)
    rng = random.Random(digest("palette", prompt))
    kind = _pick(words, _SCENES, [_PLAIN_SCENE])
    colours = [_rgb(name) for name in palette_words(prompt)]
    time = _pick(words, _TIMES, [_PLAIN_TIME])
    winter = any(w in _WINTER for w in words)
    # A small hue turn per prompt, so two prompts without colour words still differ.
    turn = rng.uniform(-0.06, 0.06)
    sky_top, sky_horizon, sun = (_shift_hue(c, turn) for c in _SKIES[time])
    ground = _shift_hue(_GROUNDS[kind], turn * 1.5)
    accent: RGB | None = None
    if colours:
        accent = colours[0]
        ground = mix(ground, colours[1] if len(colours) > 1 else colours[0], 0.6)
        sky_horizon = mix(sky_horizon, colours[-1], 0.45)
        sky_top = mix(sky_top, mix(colours[0], (0, 0, 0), 0.35), 0.3)
        sun = mix(sun, colours[0], 0.45)
    if winter:
        ground = mix(ground, (236, 242, 250), 0.7)
    if time == "night":
        ground = mix(ground, (12, 16, 36), 0.55)
    return Scene(kind, time, sky_top, sky_horizon, sun, ground, accent, winter)
