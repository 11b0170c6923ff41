"""The options of ``%klein``, declared once: the magic builds its parser and its help
(``%klein?``) from `MAGIC_OPTIONS`, and `klein_widget.ui._snippets.format_magic` writes
lines with the same flags.

A pure table, here in ``ui`` rather than in ``magic``: snippets (``ui``) may not import the
magic, and the magic may import ``ui``.

Example:
    >>> magic_option("width").synopsis
    '-W/--width N'
    >>> options_summary().split(", ")[:3]
    ['-W/--width N', '-H/--height N', '--size WxH']
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from klein_widget.client._models import (
    DEFAULT_SIDE,
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    PRICE_PER_ENHANCE_MILLS,
    SIDE_STEP,
)
from klein_widget.ui._sizes import ASPECT_PRESETS, size_for_aspect

__all__ = [
    "MAGIC_OPTIONS",
    "MAX_COUNT",
    "MagicOption",
    "magic_option",
    "options_help",
    "options_summary",
]

MAX_COUNT = 16  # images per %klein -n: a grid, not a batch (use generate_many for more)


@dataclass(frozen=True)
class MagicOption:
    """One ``%klein`` option.

    ``name`` is the long flag without dashes and the attribute the parser fills in (as
    text: ``{name}`` fields are filled in after parsing). ``value`` names what follows the
    flag (``"N"``, ``"WxH"``); a switch has none. ``negatable`` switches also take
    ``--no-NAME``. ``default`` says in words what leaving the option out means.

    Example:
        >>> MagicOption("seed", "a seed", short="s", value="N").flags
        ('-s', '--seed')
    """

    name: str
    help: str
    short: str = ""
    value: str = ""
    negatable: bool = False
    default: str = ""

    @property
    def flags(self) -> tuple[str, ...]:
        """The flags, short first: ``("-W", "--width")``."""
        return (f"-{self.short}", f"--{self.name}") if self.short else (f"--{self.name}",)

    @property
    def flag(self) -> str:
        """The flag snippets write: the short one if there is one."""
        return self.flags[0]

    @property
    def synopsis(self) -> str:
        """``-W/--width N``, ``--sync/--no-sync``, ``--panel``."""
        names = "/".join(self.flags)
        if self.negatable:
            names += f"/--no-{self.name}"
        return f"{names} {self.value}" if self.value else names

    @property
    def switch(self) -> bool:
        """True for an option that takes no value."""
        return not self.value


def _aspect_help() -> str:
    examples = ", ".join(
        f"{name} -> {w}x{h}" for name in ("16:9", "3:2") for w, h in [size_for_aspect(name)]
    )
    return (
        f"e.g. {', '.join(ASPECT_PRESETS)} (the panel's presets) or any W:H. The longer side "
        "is the default's longer side (or give -W or -H); the other is the multiple of "
        f"{SIDE_STEP} that keeps the ratio closest: {examples}"
    )


_SIDE_HELP = f"{MIN_SIDE} to {MAX_SIDE} pixels (multiples of {SIDE_STEP} work best)"

MAGIC_OPTIONS: tuple[MagicOption, ...] = (
    MagicOption(
        "width",
        _SIDE_HELP,
        short="W",
        value="N",
        default=f"{DEFAULT_SIDE}, or %config KleinMagics.width",
    ),
    MagicOption(
        "height",
        _SIDE_HELP,
        short="H",
        value="N",
        default=f"{DEFAULT_SIDE}, or %config KleinMagics.height",
    ),
    MagicOption("size", "both sides at once, e.g. --size 768x512 (not with -W/-H)", value="WxH"),
    MagicOption("aspect", _aspect_help(), value="W:H"),
    MagicOption(
        "seed",
        f"0 to {MAX_SEED} for a repeatable image; -1 or random draws a new seed for each "
        "image, reported with it; a list (1,2,3) makes a labelled grid, a column a seed",
        short="s",
        value="N",
        default="random, or %config KleinMagics.seed",
    ),
    MagicOption(
        "count",
        f"1 to {MAX_COUNT} images with consecutive seeds, shown as a grid; returns a list",
        short="n",
        value="N",
        default="1",
    ),
    MagicOption(
        "sync",
        "WaveSpeed's sync mode: one request that waits for the image",
        negatable=True,
        default="off, or %config KleinMagics.sync",
    ),
    MagicOption(
        "fresh",
        "ask WaveSpeed again even if the gallery already has this prompt, size and seed "
        "(otherwise that image comes back free)",
    ),
    MagicOption(
        "enhance",
        "rewrite the prompt with WaveSpeed's prompt optimizer first "
        f"(${PRICE_PER_ENHANCE_MILLS / 1000:.3f}) and show the new prompt",
    ),
    MagicOption(
        "out",
        "also save the image, its parameters embedded; with -n: FILE-1.png, FILE-2.png and so on",
        short="o",
        value="FILE",
    ),
    MagicOption("panel", "open the panel with these settings instead of generating"),
    MagicOption(
        "pack",
        "attach a lesson pack (a .zip or folder from `klein pack make`) first: the images "
        "it holds come from it, free, for the rest of the session",
        value="PACK",
    ),
)

_BY_NAME = {option.name: option for option in MAGIC_OPTIONS}


def magic_option(name: str) -> MagicOption:
    """The declared option called ``name`` (``"width"``); KeyError if there is none."""
    return _BY_NAME[name]


def options_summary() -> str:
    """Every option on one line, for usage errors: ``-W/--width N, -H/--height N, ...``."""
    return ", ".join(option.synopsis for option in MAGIC_OPTIONS)


def options_help(indent: str = "  ", width: int = 84) -> str:
    """The options section of ``%klein?``: each synopsis, then its help, indented.

    Example:
        >>> print(options_help().splitlines()[0])
          -W/--width N
    """
    lines = []
    for option in MAGIC_OPTIONS:
        text = option.help if option.help.endswith(".") else option.help + "."
        if option.default:
            text += f" Default: {option.default}."
        lines.append(f"{indent}{option.synopsis}")
        lines += textwrap.wrap(text, width, initial_indent=indent * 4, subsequent_indent=indent * 4)
    return "\n".join(lines)
