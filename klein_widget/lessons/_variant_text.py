"""The text side of prompt variants: what counts as variant syntax, and what stays literal.

The `dynamicprompts` parser reads ``#`` and ``//`` as comments, ``$``, ``%`` and ``__``
as syntax anywhere in a prompt, and every ``{...}`` as a variant. Here a brace group is a
variant only if it holds (outside any inner braces) a ``|``, a ``__wildcard__``, or a
counted or weighted form (``{2$$a|b}``, ``{2::a}``); other braces are the user's text, and
a prompt that is a JSON object or list is never expanded at all (FLUX.2 takes JSON
prompts). `guard` swaps syntax characters for private-use stand-ins where they are not
variant syntax, `literal` does it for every special character of a text (for
words that must never expand, as ``%klein`` fills in from variables), and `restore`
swaps them back after expansion.

Example:
    >>> restore(guard("a $5 bill, #1 fan"))
    'a $5 bill, #1 fan'
    >>> has_variants(literal("{a|b}")), has_variants('{"scene": "a fox|a cat"}')
    (False, False)
    >>> has_variants("a sign that says {OPEN}"), has_variants("{__animal__}")
    (False, True)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

__all__ = [
    "WILDCARD",
    "WILDCARDS_ENV",
    "Protected",
    "escape_own",
    "guard",
    "has_variants",
    "is_json_prompt",
    "is_variant_group",
    "literal",
    "literal_braces",
    "restore",
    "wildcards_folder",
]

WILDCARDS_ENV = "KLEIN_WILDCARDS"

# What the library reads as syntax, kept literal here: each gets a private-use stand-in
# (restored afterwards) unless it is variant syntax.
_STAND_IN = {"#": "\ue000", "/": "\ue001", "$": "\ue002", "%": "\ue003", "_": "\ue004"}
_STAND_IN.update({"{": "\ue005", "}": "\ue006", "|": "\ue007"})
_RESTORE = {v: k for k, v in _STAND_IN.items()}
# A stand-in (or this escape) already in the user's text is kept as escape + itself, so
# restoring never turns a character the user typed into another (found by hypothesis).
_ESCAPE = "\ue008"
_OWN = re.compile(r"[\ue000-\ue008]")
_RESTORING = re.compile(r"\ue008([\ue000-\ue008])|([\ue000-\ue007])")
WILDCARD = re.compile(r"__(?:[^\W_]|[/.*\-]|_(?!_))+__")
"""A ``__name__`` wildcard reference (``__colours/warm__``, ``__animal*__``)."""
_LOOSE = re.compile(r"/(?=[/*])|(?<!\$)\$(?![${])|%(?!\{)|__+|#")
_VARIANT_HINT = re.compile(r"\{|" + WILDCARD.pattern)
# {2$$a|b}, {1-3$$a|b}, {2$$ and $$a|b}: a count before $$; {2::a}, {0.5::a|b}: a weight.
_COUNTED = re.compile(r"\s*(?:\d*\s*-?\s*\d*\s*\$\$|\d*\.?\d+\s*::)")


class Protected(str):
    """A template whose own text is protected already (by `literal` and `escape_own`, as
    `%klein` builds one): `expand_variants` does not escape it twice. A type, not a leading
    mark in the text: a prompt may start with any character a user can type (hypothesis
    found one that a mark made disappear)."""

    __slots__ = ()


def literal(text: str) -> str:
    """``text`` as plain words inside a template: no braces, bars or wildcards expand.

    Example:
        >>> restore(literal("{x}")) == "{x}" and not has_variants(literal("{x}"))
        True
    """
    return "".join(_STAND_IN.get(char) or _own(char) for char in text)


def _own(char: str) -> str:
    return _ESCAPE + char if _OWN.fullmatch(char) else char


def escape_own(text: str) -> str:
    """``text`` with the stand-in characters a user typed escaped (`restore` undoes it).

    Example:
        >>> restore(escape_own("\ue000")) == "\ue000"
        True
    """
    return _OWN.sub(lambda m: _ESCAPE + m.group(), text)


def is_json_prompt(text: str) -> bool:
    """True if ``text`` is a JSON object or list (a structured prompt: never expanded).

    Example:
        >>> is_json_prompt('{"scene": "a fox in snow"}'), is_json_prompt("{red|blue} fox")
        (True, False)
    """
    stripped = text.strip()
    if stripped[:1] not in ("{", "[") or stripped[-1:] not in ("}", "]"):
        return False
    try:
        return isinstance(json.loads(stripped), (dict, list))
    except ValueError:
        return False


def _top_level(inside: str) -> str:
    """The text of a brace group outside any braces nested in it."""
    depth, kept = 0, []
    for char in inside:
        if char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif not depth:
            kept.append(char)
    return "".join(kept)


def is_variant_group(inside: str) -> bool:
    """True for the inside of a ``{...}`` that is a variant: it holds a ``|``, a
    ``__wildcard__`` or a counted or weighted form, outside any braces nested in it.

    Example:
        >>> is_variant_group("red|blue"), is_variant_group("2$$a|b"), is_variant_group("OPEN")
        (True, True, False)
    """
    top = _top_level(inside)
    return "|" in top or bool(WILDCARD.search(top)) or bool(_COUNTED.match(top))


def literal_braces(text: str) -> str:
    """``text`` with every brace that is not part of a variant group made literal
    (unmatched braces too, unless the text has a ``|``: then it is a variant left open,
    for the parser to refuse), so that the parser reads only variants as syntax.

    Example:
        >>> restore(literal_braces("a {OPEN} {red|blue} }")) == "a {OPEN} {red|blue} }"
        True
        >>> has_variants(literal_braces("a {OPEN} sign"))
        False
    """
    if "{" not in text and "}" not in text:
        return text
    opened: list[int] = []
    pairs: dict[int, int] = {}
    for index, char in enumerate(text):
        if char == "{":
            opened.append(index)
        elif char == "}" and opened:
            pairs[opened.pop()] = index
    keep: set[int] = set()
    for start, end in pairs.items():
        if is_variant_group(text[start + 1 : end]):
            keep.update((start, end))
    if "|" in text:  # an unmatched brace beside a bar is a broken variant: the parser says so
        keep.update(opened)
        keep.update(i for i, c in enumerate(text) if c == "}" and i not in pairs.values())
    return "".join(
        _STAND_IN[char] if char in "{}" and index not in keep else char
        for index, char in enumerate(text)
    )


def has_variants(template: str) -> bool:
    """True if ``template`` has a variant ``{...}`` group or a ``__wildcard__`` to expand
    (never for a JSON prompt).

    Example:
        >>> has_variants("a {red|blue} fox"), has_variants("a snake__case fox")
        (True, False)
    """
    if is_json_prompt(template):
        return False
    return bool(_VARIANT_HINT.search(literal_braces(template)))


def guard(template: str) -> str:
    """Stand-ins for the library's syntax characters where they are not variant syntax.

    Example:
        >>> restore(guard("a $5 {red|blue} #1")) == "a $5 {red|blue} #1"
        True
    """
    pieces, position = [], 0
    for match in WILDCARD.finditer(template):
        pieces.append(_LOOSE.sub(lambda m: literal(m.group()), template[position : match.start()]))
        pieces.append(match.group())
        position = match.end()
    pieces.append(_LOOSE.sub(lambda m: literal(m.group()), template[position:]))
    return "".join(pieces)


def restore(text: str) -> str:
    """Undo `literal` and `guard`: the stand-ins back to the characters they stand for."""
    return _RESTORING.sub(lambda m: m.group(1) or _RESTORE[m.group(2)], text)


def wildcards_folder(folder: str | os.PathLike[str] | None = None) -> Path | None:
    """Where ``__name__`` files are read: ``folder``, ``$KLEIN_WILDCARDS``, or ``./wildcards``.

    Example:
        >>> wildcards_folder("lesson/wildcards")
        PosixPath('lesson/wildcards')
    """
    if folder is not None:
        return Path(folder).expanduser()
    if os.environ.get(WILDCARDS_ENV):
        return Path(os.environ[WILDCARDS_ENV]).expanduser()
    default = Path("wildcards")
    return default if default.is_dir() else None
