"""The options of a ``%klein`` line: which there are, and how their text becomes values.

`parse_options` sorts the words into options and prompt words (argparse, its complaints
reworded); `read_size`, `read_seed` and `read_count` turn option text into values,
falling back to `MagicDefaults` (``%config KleinMagics.*``). Ranges are checked by
`GenerationRequest`, the one place those rules live. Pure: no IPython.

Example:
    >>> options = parse_options(["a", "fox", "--aspect", "16:9", "--", "-x"])
    >>> options.words, options.aspect
    (['a', 'fox', '-x'], '16:9')
    >>> read_size(options, MagicDefaults(), lambda text: text)
    (1024, 576)
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import DEFAULT_SIDE, MAX_SIDE, MIN_SIDE, RANDOM_SEED, parse_size
from klein_widget.magic._words import EXAMPLE, MagicUsageError
from klein_widget.ui._magic_options import MAGIC_OPTIONS, MAX_COUNT, options_summary
from klein_widget.ui._sizes import size_for_aspect

__all__ = [
    "MAX_COUNT",
    "Fill",
    "MagicDefaults",
    "invalid",
    "parse_options",
    "read_count",
    "read_seed",
    "read_size",
]

Fill = Callable[[str | None], str | None]
"""Fills in ``{name}`` fields of an option's text (None, for an option not given, stays)."""


@dataclass(frozen=True)
class MagicDefaults:
    """What ``%klein`` uses for options the line leaves out (``%config KleinMagics.*``)."""

    width: int = DEFAULT_SIDE
    height: int = DEFAULT_SIDE
    seed: int = RANDOM_SEED
    sync: bool = False


def invalid(error: InvalidRequestError, context: str = "") -> MagicUsageError:
    """`GenerationRequest`'s complaint as a usage error, after ``context`` if given."""
    message = str(error)
    return MagicUsageError(f"{context}: {message}" if context else message)


# --- words into options -------------------------------------------------------------------


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


# --- option text into values --------------------------------------------------------------


def _integer(text: str) -> int | str:
    """An int if ``text`` is one; otherwise the text, for `GenerationRequest` to refuse."""
    try:
        return int(text)
    except ValueError:
        return text


def read_size(options: argparse.Namespace, defaults: MagicDefaults, fill: Fill) -> tuple[int, int]:
    """Width and height from -W, -H, --size and --aspect (``fill`` fills in ``{name}``).

    A side that is not a whole number comes back as its text, for `GenerationRequest`
    to refuse in its own words.
    """
    width_text, height_text = fill(options.width), fill(options.height)
    size_text, aspect_text = fill(options.size), fill(options.aspect)
    if size_text is not None:
        if width_text is not None or height_text is not None:
            raise MagicUsageError(
                "--size sets both sides: use either --size 768x512 or -W 768 -H 512, not both"
            )
        if aspect_text is not None:
            raise MagicUsageError(
                "--size and --aspect both set the shape: use one (e.g. --aspect 16:9)"
            )
        try:
            return parse_size(size_text)
        except InvalidRequestError as error:
            raise MagicUsageError(
                f"--size must look like 768x512 (width x height, each {MIN_SIDE} to {MAX_SIDE}), "
                f"not {size_text!r}"
            ) from error
    width: Any = defaults.width if width_text is None else _integer(width_text)
    height: Any = defaults.height if height_text is None else _integer(height_text)
    if aspect_text is None:
        return width, height
    if width_text is not None and height_text is not None:
        raise MagicUsageError(
            "--aspect with both -W and -H: give one side (e.g. -W 768 --aspect 16:9) or neither"
        )
    try:
        return size_for_aspect(
            aspect_text,
            max(defaults.width, defaults.height),
            width=width if width_text is not None else None,
            height=height if height_text is not None else None,
            label="--aspect",
        )
    except InvalidRequestError as error:
        raise invalid(error) from None


def read_seed(text: str) -> int | str:
    """The seed for ``-s``: ``random`` is -1; not a whole number, the text (to be refused)."""
    return RANDOM_SEED if text.strip().lower() == "random" else _integer(text)


def read_count(text: str | None) -> int:
    """The image count for ``-n`` (1 if not given), from 1 to `MAX_COUNT`."""
    if text is None:
        return 1
    count = _integer(text)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise MagicUsageError(
            f"-n/--count must be a whole number from 1 to {MAX_COUNT}, not {text!r}"
        )
    return count
