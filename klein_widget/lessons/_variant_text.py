"""The text side of prompt variants: what counts as variant syntax, and what stays literal.

The `dynamicprompts` parser reads ``#`` and ``//`` as comments and ``$``, ``%`` and ``__``
as syntax anywhere in a prompt. `guard` swaps them for private-use stand-ins where they
are not variant syntax, `literal` does it for every special character of a text (for
words that must never expand, as ``%klein`` fills in from variables), and `restore`
swaps them back after expansion.

Example:
    >>> restore(guard("a $5 bill, #1 fan"))
    'a $5 bill, #1 fan'
    >>> has_variants(literal("{a|b}"))
    False
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "PROTECTED",
    "WILDCARD",
    "WILDCARDS_ENV",
    "escape_own",
    "guard",
    "has_variants",
    "literal",
    "restore",
    "wildcards_folder",
]

WILDCARDS_ENV = "KLEIN_WILDCARDS"

# What the library reads as syntax, kept literal here: each gets a private-use stand-in
# (restored afterwards) unless it is variant syntax.
_STAND_IN = {"#": "\ue000", "/": "\ue001", "$": "\ue002", "%": "\ue003", "_": "\ue004"}
_STAND_IN.update({"{": "\ue005", "}": "\ue006", "|": "\ue007"})
_RESTORE = {v: k for k, v in _STAND_IN.items()}
# A stand-in (or this escape, or the mark) already in the user's text is kept as escape +
# itself, so restoring never turns a character the user typed into another (found by
# hypothesis). A template already protected (by `literal` and `escape_own`, as `%klein`
# builds one) starts with `PROTECTED`, so `expand_variants` does not escape it twice.
_ESCAPE = "\ue008"
PROTECTED = "\ue009"
_OWN = re.compile(r"[\ue000-\ue009]")
_RESTORING = re.compile(r"\ue008([\ue000-\ue009])|([\ue000-\ue007])|\ue009")
WILDCARD = re.compile(r"__(?:[^\W_]|[/.*\-]|_(?!_))+__")
"""A ``__name__`` wildcard reference (``__colours/warm__``, ``__animal*__``)."""
_LOOSE = re.compile(r"/(?=[/*])|(?<!\$)\$(?![${])|%(?!\{)|__+|#")
_VARIANT_HINT = re.compile(r"\{|" + WILDCARD.pattern)


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


def has_variants(template: str) -> bool:
    """True if ``template`` has a ``{...}`` or ``__wildcard__`` to expand.

    Example:
        >>> has_variants("a {red|blue} fox"), has_variants("a snake__case fox")
        (True, False)
    """
    return bool(_VARIANT_HINT.search(template))


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
    return _RESTORING.sub(
        lambda m: m.group(1) or (_RESTORE[m.group(2)] if m.group(2) else ""), text
    )


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
