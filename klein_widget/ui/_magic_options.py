"""The options of ``%klein``, declared once (`MAGIC_OPTIONS`): the parser (`parse_options`),
the help (``%klein?``: `klein_widget.ui._magic_help.MAGIC_HELP`), the usage errors and
the snippets' flags (`klein_widget.ui._snippets.format_magic`) are all made from that one
declaration, as jupysql's ``@magic_arguments`` and jupyter-ai's ``parsers.py`` do, so the
help cannot list an option the parser does not take, or miss one it does.

Pure, and here in ``ui`` rather than in ``magic``: snippets (``ui``) may not import the
magic, and the magic may import ``ui``.

Example:
    >>> magic_option("width").synopsis
    '-W/--width N'
    >>> parse_options(["a", "fox", "--aspect", "16:9", "--", "-x"]).words
    ['a', 'fox', '-x']
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from klein_widget.client._family import LORA_SCALE_RANGE, MAX_LORAS, MAX_REFERENCES
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
    "EXAMPLE",
    "MAGIC_OPTIONS",
    "MAX_COUNT",
    "MagicOption",
    "MagicUsageError",
    "magic_option",
    "options_summary",
    "parse_options",
]

MAX_COUNT = 16  # images per %klein -n: a grid, not a batch (use generate_many for more)
EXAMPLE = '%klein "a red fox in snow" -W 768 -H 512 -s 42'  # shown in usage errors


class MagicUsageError(ValueError):
    """A mistake in a ``%klein`` line; the message says what is allowed. Nothing was sent."""


@dataclass(frozen=True)
class MagicOption:
    """One ``%klein`` option.

    ``name`` is the long flag without dashes and the attribute the parser fills in (as
    text: ``{name}`` fields are filled in after parsing). ``value`` names what follows the
    flag (``"N"``, ``"WxH"``); a switch has none. ``negatable`` switches also take
    ``--no-NAME``. ``default`` says in words what leaving the option out means.
    ``needs_prompt``: the option only means something when %klein makes images itself
    (not with ``--panel`` or without a prompt). ``repeat``: the option may be given more
    than once (the parser collects a list).

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
    needs_prompt: bool = False
    repeat: bool = False

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
        f"1 to {MAX_COUNT} images with consecutive seeds, shown as a grid and returned as one "
        "(grid[0], len(grid), for g in grid)",
        short="n",
        value="N",
        default="1",
        needs_prompt=True,
    ),
    MagicOption(
        "sync",
        "WaveSpeed's sync mode: one request that waits for the image",
        negatable=True,
        default="off, or %config KleinMagics.sync",
        needs_prompt=True,
    ),
    MagicOption(
        "fresh",
        "ask WaveSpeed again even if the gallery already has this prompt, size and seed "
        "(otherwise that image comes back free)",
        needs_prompt=True,
    ),
    MagicOption(
        "enhance",
        "rewrite the prompt with WaveSpeed's prompt optimizer first "
        f"(${PRICE_PER_ENHANCE_MILLS / 1000:.3f}) and show the new prompt",
        needs_prompt=True,
    ),
    MagicOption(
        "out",
        "also save the image, its parameters embedded; with -n: FILE-1.png, FILE-2.png and so "
        "on; a grid of variants or a list of seeds: the grid, as one labelled PNG",
        short="o",
        value="FILE",
        needs_prompt=True,
    ),
    MagicOption(
        "model",
        "4b or 9b, FLUX.2 [klein]'s two sizes (9B: more detail, a higher price), or a full "
        "WaveSpeed id; with --edit or --ref, that size's edit model",
        value="NAME",
        default="4b",
        needs_prompt=True,
    ),
    MagicOption(
        "edit",
        "edit an image, the prompt saying what changes: last (the last image this session "
        "made), a gallery task id, an image file or an http(s) URL. The result keeps its "
        "size unless -W/-H, --size or --aspect say otherwise",
        value="IMAGE",
        needs_prompt=True,
    ),
    MagicOption(
        "ref",
        f"a reference image (file or http(s) URL) for an edit; repeat it, up to "
        f"{MAX_REFERENCES} images with --edit's. The prompt calls them image 1, image 2 "
        "and so on, --edit's first",
        value="FILE",
        needs_prompt=True,
        repeat=True,
    ),
    MagicOption(
        "lora",
        f"a LoRA style (a URL or owner/repo) at a scale from {LORA_SCALE_RANGE[0]:g} to "
        f"{LORA_SCALE_RANGE[1]:g} (default 1), e.g. --lora owner/style:0.8; repeat it, up to "
        f"{MAX_LORAS}. 4B's LoRA endpoint: not with 9B or an edit",
        value="URL[:SCALE]",
        needs_prompt=True,
        repeat=True,
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


# --- the parser ------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise MagicUsageError(_explain(message))


def _explain(message: str) -> str:
    """argparse's complaint, said the way the rest of klein-widget says things."""
    unknown = re.match(r"unrecognized arguments: (.*)", message)
    if unknown:
        return (
            f"unknown option {unknown.group(1)}: the options are {options_summary()} "
            "(%klein? shows examples; quote a prompt that starts with -, after --)"
        )
    missing = re.match(r"argument (\S+): expected one argument", message)
    if missing:
        return f"{missing.group(1)} needs a value, e.g. {EXAMPLE}"
    return f"{message}; the options are {options_summary()} (%klein? shows examples)"


def _parser() -> _Parser:
    """The argparse parser, built from the declared options (values stay text)."""
    parser = _Parser(prog="%klein", add_help=False, allow_abbrev=False)
    parser.add_argument("words", nargs="*")
    for option in MAGIC_OPTIONS:
        if option.negatable:
            action: Any = argparse.BooleanOptionalAction
            parser.add_argument(*option.flags, dest=option.name, action=action, default=None)
        elif option.switch:
            parser.add_argument(*option.flags, dest=option.name, action="store_true")
        elif option.repeat:
            parser.add_argument(
                *option.flags, dest=option.name, action="append", metavar=option.value
            )
        else:
            parser.add_argument(*option.flags, dest=option.name, metavar=option.value)
    return parser


_PARSER = _parser()


def parse_options(words: list[str]) -> argparse.Namespace:
    """The options among ``words``, as text; the other words (and all after ``--``) in ``.words``.

    Example:
        >>> parse_options(["a", "fox", "-s", "7"]).seed
        '7'
    """
    # Everything after "--" is prompt (argparse's own "--" handling is unreliable here).
    tail: list[str] = []
    if "--" in words:
        cut = words.index("--")
        words, tail = words[:cut], words[cut + 1 :]
    options = _PARSER.parse_intermixed_args(words)
    options.words += tail
    return options
