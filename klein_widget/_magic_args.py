"""Pure parsing for ``%klein`` / ``%%klein``: a line in, a typed `MagicArgs` out, and back.

No IPython here: `parse_line` turns the magic's text into `MagicArgs` (or raises
`MagicUsageError` saying what is allowed), and `format_magic` writes the ``%klein`` line
that reproduces a `GenerationRequest` (the panel's snippet). Ranges are checked by
`GenerationRequest`, the one place those rules live.

Rules of the line:

* Words are split like a shell line: ``"..."`` and ``'...'`` group words, a backslash
  escapes a quote, a backslash or a blank. A quote right after a letter or digit is
  just a character, so ``a fox's den`` and ``a 12" record`` need no quoting.
* Words that are not options form the prompt, joined by single spaces; ``--`` ends the
  options (for a prompt that starts with ``-``). ``%%klein`` takes the cell body instead.
* ``{name}`` (also ``{name.attr}``, ``{name[0]}``, ``{name:.2f}``) is filled in from the
  namespace, in the prompt and in option values; ``{{`` and ``}}`` are literal braces.

Example:
    >>> args = parse_line('"a red fox, at dusk" -W 768 -H 512 -s 42')
    >>> args.prompt, args.width, args.height, args.seed
    ('a red fox, at dusk', 768, 512, 42)
    >>> format_magic(args.request())
    '%klein "a red fox, at dusk" -W 768 -H 512 -s 42'
"""

from __future__ import annotations

import argparse
import random
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from klein_widget._exceptions import InvalidRequestError
from klein_widget._models import (
    DEFAULT_SIDE,
    MAX_SEED,
    RANDOM_SEED,
    SIDE_STEP,
    GenerationRequest,
    parse_size,
)

__all__ = [
    "MAX_COUNT",
    "MagicArgs",
    "MagicDefaults",
    "MagicUsageError",
    "aspect_size",
    "expand",
    "format_magic",
    "parse_line",
    "split_words",
]

MAX_COUNT = 16  # images per %klein -n: a grid, not a batch (use generate_many for more)

OPTIONS_HELP = (
    "-W/--width, -H/--height, --size WxH, --aspect W:H, -s/--seed, -n/--count, "
    "--sync/--no-sync, --enhance, -o/--out FILE, --panel"
)
_EXAMPLE = '%klein "a red fox in snow" -W 768 -H 512 -s 42'


class MagicUsageError(ValueError):
    """A mistake in a ``%klein`` line; the message says what is allowed. Nothing was sent."""


@dataclass(frozen=True)
class MagicDefaults:
    """What ``%klein`` uses for options the line leaves out (``%config KleinMagics.*``)."""

    width: int = DEFAULT_SIDE
    height: int = DEFAULT_SIDE
    seed: int = RANDOM_SEED
    sync: bool = False


@dataclass(frozen=True)
class MagicArgs:
    """One parsed ``%klein``: what to make and what to do with it.

    ``prompt`` is empty only when none was given (then ``%klein`` opens the panel).

    Example:
        >>> parse_line("a fox -n 3 -s 10").requests()[-1].seed
        12
    """

    prompt: str
    width: int = DEFAULT_SIDE
    height: int = DEFAULT_SIDE
    seed: int = RANDOM_SEED
    count: int = 1
    sync: bool = False
    enhance: bool = False
    out: str | None = None
    panel: bool = False

    def request(self, prompt: str | None = None) -> GenerationRequest:
        """The first (or only) image's request; ``prompt`` replaces the prompt (--enhance)."""
        return self.requests(prompt)[0]

    def requests(
        self, prompt: str | None = None, rng: random.Random | None = None
    ) -> tuple[GenerationRequest, ...]:
        """One request per image: ``count`` consecutive seeds from ``seed``.

        With ``seed=-1`` and ``count > 1`` the first seed is drawn here, so the seeds of
        a grid are consecutive and known; a single image keeps -1 (the client draws it).
        """
        first = self.seed
        if first == RANDOM_SEED and self.count > 1:
            first = (rng or random.SystemRandom()).randint(0, MAX_SEED - self.count + 1)
        seeds = [first] if self.count == 1 else [first + i for i in range(self.count)]
        text = self.prompt if prompt is None else prompt
        return tuple(
            GenerationRequest(text, self.width, self.height, seed, self.sync) for seed in seeds
        )


# --- words ------------------------------------------------------------------------------

_QUOTES = "'\""


def split_words(text: str) -> list[str]:
    """Split a line into words, shell-style, but kind to apostrophes.

    Example:
        >>> split_words('''a fox's "den at dusk" -W 512''')
        ['a', "fox's", 'den at dusk', '-W', '512']
    """
    words: list[str] = []
    word: list[str] = []
    started = False  # a word has begun (even an empty "" one)
    quote = ""
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"' and i + 1 < n and text[i + 1] in '"\\':
                i += 1
                word.append(text[i])
            else:
                word.append(char)
        elif char.isspace():
            if started:
                words.append("".join(word))
                word, started = [], False
        elif char in _QUOTES and not (i > 0 and text[i - 1].isalnum()):
            quote, started = char, True
        elif char == "\\" and i + 1 < n and (text[i + 1] in "\\'\"" or text[i + 1].isspace()):
            i += 1
            word.append(text[i])
            started = True
        else:
            word.append(char)
            started = True
        i += 1
    if quote:
        raise MagicUsageError(
            f"a {quote} quote is not closed: put the whole prompt in quotes, "
            f"e.g. {_EXAMPLE}, or write \\{quote} for the character itself"
        )
    if started:
        words.append("".join(word))
    return words


def _quote(text: str) -> str:
    """Quote a word so that `split_words` gives it back exactly."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- {name} expansion ---------------------------------------------------------------------

_BRACES_HELP = "write {{ and }} for literal braces"


_FIELD_PART = re.compile(r"\.([^.\[]+)|\[([^\]]+)\]")


def _split_field(field_name: str) -> tuple[str, list[tuple[bool, str | int]]]:
    """``"a.b[0]"`` -> ``("a", [(True, "b"), (False, 0)])``, as `str.format` reads it."""
    first = re.match(r"[^.\[]*", field_name)
    name = first.group() if first else ""
    parts: list[tuple[bool, str | int]] = []
    position = len(name)
    for match in _FIELD_PART.finditer(field_name, position):
        if match.start() != position:
            break
        attribute, index = match.groups()
        if attribute is not None:
            parts.append((True, attribute))
        else:
            parts.append((False, int(index) if index.isdigit() else index))
        position = match.end()
    if position != len(field_name):
        raise MagicUsageError(
            f"{{{field_name}}} is not a variable reference: use {{name}}, {{name.attr}} or "
            f"{{name[key]}}; {_BRACES_HELP}"
        )
    return name, parts


class _NamespaceFormatter(string.Formatter):
    """`str.format` over a namespace: names, ``.attr`` and ``[index]`` only, no calls."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        super().__init__()
        self.namespace = namespace

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        first, rest = _split_field(field_name)
        if not first or first.isdigit():
            raise MagicUsageError(
                f"{{}} and {{{field_name or 0}}} are not filled in: name a variable, e.g. "
                f"{{animal}}, or {_BRACES_HELP}"
            )
        if first not in self.namespace:
            raise MagicUsageError(
                f"{{{field_name}}}: there is no variable named {first!r}; define it in a "
                f"cell first, or {_BRACES_HELP}"
            )
        value = self.namespace[first]
        for is_attribute, key in rest:
            if is_attribute and str(key).startswith("_"):
                raise MagicUsageError(
                    f"{{{field_name}}}: private attributes (starting with _) are not filled in"
                )
            try:
                value = getattr(value, str(key)) if is_attribute else value[key]
            except (AttributeError, LookupError, TypeError) as error:
                raise MagicUsageError(f"{{{field_name}}}: {error}") from None
        return value, first


def expand(text: str, namespace: Mapping[str, Any]) -> str:
    """Fill in ``{name}`` fields from ``namespace``; ``{{`` and ``}}`` are literal braces.

    Example:
        >>> expand("a {colour} fox {{not a field}}", {"colour": "red"})
        'a red fox {not a field}'
    """
    if "{" not in text and "}" not in text:
        return text
    try:
        return _NamespaceFormatter(namespace).vformat(text, (), {})
    except MagicUsageError:
        raise
    except (ValueError, TypeError) as error:  # unbalanced braces, a bad format spec
        raise MagicUsageError(f"cannot fill in {text!r}: {error}; {_BRACES_HELP}") from None


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


# --- options ------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise MagicUsageError(_explain(message))


def _explain(message: str) -> str:
    """argparse's complaint, said the way the rest of klein-widget says things."""
    unknown = re.match(r"unrecognized arguments: (.*)", message)
    if unknown:
        return (
            f"unknown option {unknown.group(1)}: the options are {OPTIONS_HELP} "
            "(%klein? shows examples; quote a prompt that starts with -, after --)"
        )
    missing = re.match(r"argument (\S+): expected one argument", message)
    if missing:
        return f"{missing.group(1)} needs a value, e.g. {_EXAMPLE}"
    return f"{message}; the options are {OPTIONS_HELP} (%klein? shows examples)"


def _parser() -> _Parser:
    parser = _Parser(prog="%klein", add_help=False, allow_abbrev=False)
    parser.add_argument("words", nargs="*")
    parser.add_argument("-W", "--width")
    parser.add_argument("-H", "--height")
    parser.add_argument("--size")
    parser.add_argument("--aspect")
    parser.add_argument("-s", "--seed")
    parser.add_argument("-n", "--count")
    parser.add_argument("--sync", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--enhance", action="store_true")
    parser.add_argument("-o", "--out")
    parser.add_argument("--panel", action="store_true")
    return parser


_PARSER = _parser()


def _integer(text: str) -> int | str:
    """An int if ``text`` is one; otherwise the text, for `GenerationRequest` to refuse."""
    try:
        return int(text)
    except ValueError:
        return text


def _floor_to_step(value: int) -> int:
    return value // SIDE_STEP * SIDE_STEP


def aspect_size(
    aspect: str, long_side: int, *, width: int | None = None, height: int | None = None
) -> tuple[int, int]:
    """The size for ``--aspect W:H``.

    With ``width`` (or ``height``) given, the other side follows from the ratio; with
    neither, the longer side is ``long_side`` (the larger default side). The computed
    side is rounded down to a multiple of 16. Ranges are checked by `GenerationRequest`.

    Example:
        >>> aspect_size("16:9", 1024), aspect_size("2:3", 1024), aspect_size("16:9", 0, width=768)
        ((1024, 576), (672, 1024), (768, 432))
    """
    match = re.fullmatch(r"\s*(\d{1,4})\s*:\s*(\d{1,4})\s*", aspect)
    if not match or 0 in (int(match.group(1)), int(match.group(2))):
        raise MagicUsageError(
            f"--aspect must be two whole numbers like 16:9, 3:2 or 1:1, not {aspect!r}"
        )
    a, b = int(match.group(1)), int(match.group(2))
    if width is not None:
        return width, _floor_to_step(width * b // a)
    if height is not None:
        return _floor_to_step(height * a // b), height
    if a >= b:
        return long_side, _floor_to_step(long_side * b // a)
    return _floor_to_step(long_side * a // b), long_side


# --- the line -----------------------------------------------------------------------------


def _strip_magic_name(line: str, cell: str | None) -> tuple[str, str | None]:
    """Accept a whole ``%klein ...`` line or ``%%klein ...`` cell, as `format_magic` writes."""
    text = line.lstrip()
    for name in ("%%klein", "%klein"):
        rest = text[len(name) :]
        if text.startswith(name) and (not rest or rest[0].isspace()):
            if name == "%%klein" and cell is None:
                first, _, body = rest.partition("\n")
                return first, body
            return rest, cell
    return line, cell


def _invalid(error: InvalidRequestError, context: str = "") -> MagicUsageError:
    message = str(error)
    return MagicUsageError(f"{context}: {message}" if context else message)


def parse_line(
    line: str,
    defaults: MagicDefaults | None = None,
    *,
    cell: str | None = None,
    namespace: Mapping[str, Any] | None = None,
) -> MagicArgs:
    """Parse a ``%klein`` line (and the ``%%klein`` cell body, if any) into `MagicArgs`.

    ``{name}`` fields in the prompt and option values are filled in from ``namespace``
    (none by default). Raises `MagicUsageError`, naming what is allowed, for any mistake.

    Example:
        >>> args = parse_line("a {animal} --aspect 16:9 -s 7", namespace={"animal": "fox"})
        >>> args.prompt, args.width, args.height, args.seed
        ('a fox', 1024, 576, 7)
    """
    defaults = defaults or MagicDefaults()
    names: Mapping[str, Any] = namespace if namespace is not None else {}
    line, cell = _strip_magic_name(line, cell)
    words = split_words(line)
    # Everything after "--" is prompt (argparse's own "--" handling is unreliable here).
    tail: list[str] = []
    if "--" in words:
        cut = words.index("--")
        words, tail = words[:cut], words[cut + 1 :]
    options = _PARSER.parse_intermixed_args(words)
    options.words += tail

    def value(text: str | None) -> str | None:
        return None if text is None else expand(text, names)

    # The prompt: words on the line, or the cell body; never both.
    if cell is not None and options.words:
        raise MagicUsageError(
            "%%klein takes the prompt from the cell body: put the words "
            f"{' '.join(options.words)!r} in the cell, and only options on the first line"
        )
    given = cell is not None or bool(options.words)
    prompt = expand(cell if cell is not None else " ".join(options.words), names)
    if given and not prompt.strip():
        raise MagicUsageError(
            "the prompt is empty: describe the image, e.g. "
            + _EXAMPLE
            + " (or run %klein alone to open the panel)"
        )

    width, height = _size(options, defaults, value)
    seed_text = value(options.seed)
    seed: Any = defaults.seed if seed_text is None else _seed(seed_text)
    count = _count(value(options.count))
    sync = defaults.sync if options.sync is None else bool(options.sync)
    out = value(options.out)

    if not prompt.strip() or options.panel:
        extras = [
            flag
            for flag, used in (
                ("-n", options.count is not None),
                ("-o", options.out is not None),
                ("--enhance", options.enhance),
                ("--sync", options.sync is not None),
            )
            if used
        ]
        if extras:
            raise MagicUsageError(
                f"{' and '.join(extras)} only work when %klein makes images itself: give a "
                f"prompt (e.g. {_EXAMPLE} -n 4) and leave out --panel"
            )

    try:
        # Without a prompt (the panel) the sizes and seed are still checked, by the same rules.
        request = GenerationRequest(prompt if prompt.strip() else "-", width, height, seed, sync)
    except InvalidRequestError as error:
        raise _invalid(error) from None
    if count > 1 and request.seed != RANDOM_SEED and request.seed + count - 1 > MAX_SEED:
        raise MagicUsageError(
            f"-n {count} uses the seeds {request.seed} to {request.seed + count - 1}, but "
            f"seeds go up to {MAX_SEED}: start at {MAX_SEED - count + 1} or lower"
        )
    return MagicArgs(
        prompt=request.prompt if prompt.strip() else "",
        width=request.width,
        height=request.height,
        seed=request.seed,
        count=count,
        sync=request.sync_mode,
        enhance=bool(options.enhance),
        out=out,
        panel=bool(options.panel),
    )


def _size(options: argparse.Namespace, defaults: MagicDefaults, value: Any) -> tuple[int, int]:
    width_text, height_text = value(options.width), value(options.height)
    size_text, aspect_text = value(options.size), value(options.aspect)
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
                f"--size must look like 768x512 (width x height, each 256 to 1536), "
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
    for name, side in (("width", width), ("height", height)):
        try:  # the given side must be valid before a ratio is applied to it
            GenerationRequest("-", **{name: side})
        except InvalidRequestError as error:
            raise _invalid(error) from None
    size = aspect_size(
        aspect_text,
        max(defaults.width, defaults.height),
        width=width if width_text is not None else None,
        height=height if height_text is not None else None,
    )
    try:
        GenerationRequest("-", *size)
    except InvalidRequestError as error:
        raise _invalid(error, f"--aspect {aspect_text} gives {size[0]}x{size[1]}") from None
    return size


def _seed(text: str) -> int | str:
    return RANDOM_SEED if text.strip().lower() == "random" else _integer(text)


def _count(text: str | None) -> int:
    if text is None:
        return 1
    count = _integer(text)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise MagicUsageError(
            f"-n/--count must be a whole number from 1 to {MAX_COUNT}, not {text!r}"
        )
    return count


# --- and back -----------------------------------------------------------------------------


def format_magic(request: GenerationRequest) -> str:
    """The ``%klein`` line that makes ``request`` again (a ``%%klein`` cell if multi-line).

    Braces are doubled because the magic fills in ``{name}``; width, height and seed are
    always written, so the line does not depend on ``%config`` defaults.

    Example:
        >>> format_magic(GenerationRequest("a {red} fox", 768, 512, seed=42))
        '%klein "a {{red}} fox" -W 768 -H 512 -s 42'
        >>> print(format_magic(GenerationRequest("a fox\\nin snow", seed=1)))
        %%klein -W 1024 -H 1024 -s 1
        a fox
        in snow
    """
    prompt = _escape_braces(request.prompt)
    options = f"-W {request.width} -H {request.height} -s {request.seed}"
    if request.sync_mode:
        options += " --sync"
    if len(prompt.splitlines()) > 1:
        return f"%%klein {options}\n{prompt}"
    if prompt.startswith("-"):
        return f"%klein {options} -- {_quote(prompt)}"
    return f"%klein {_quote(prompt)} {options}"
