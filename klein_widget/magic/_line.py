"""The text of a ``%klein`` line, before its options mean anything. Pure: no IPython.

`strip_magic_name` and `json_head` take the magic's name and a JSON prompt off,
`split_words` splits the rest (its inverse for one word: `klein_widget.ui._snippets.quote_word`),
`prompt_text` gives the prompt back as typed, and `expand` fills in ``{name}`` fields:
`str.format` over the notebook's namespace, with no calls, no positional fields and no
private attributes (its inverse: `klein_widget.ui._snippets.escape_braces`). In a prompt,
variant groups (`klein_widget.lessons._variant_text.is_variant_group`) are kept for the
grid, and ``{{``/``}}`` and filled-in values are kept literal: they never expand as variants.

Example:
    >>> restore(expand("a {size} {red|blue} fox {{x}}", {"size": "small"}, variants=True))
    'a small {red|blue} fox {x}'
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from klein_widget.lessons._variant_text import (
    PROTECTED,
    WILDCARD,
    escape_own,
    is_json_prompt,
    is_variant_group,
    literal,
    restore,
)
from klein_widget.ui._magic_options import EXAMPLE, MagicUsageError

__all__ = [
    "Word",
    "expand",
    "json_head",
    "prompt_text",
    "restore",
    "split_words",
    "strip_magic_name",
]

_QUOTES = "'\""


class Word(str):
    """One word of a line (quotes and escapes done), knowing where it stood in the line."""

    start: int
    end: int

    def __new__(cls, text: str, start: int, end: int) -> Word:
        word = super().__new__(cls, text)
        word.start, word.end = start, end
        return word


def prompt_text(line: str, words: list[str]) -> str:
    """The prompt as typed: the line's text from the first prompt word to the last, quotes
    and all (quotes tell FLUX.2 which text to draw); a prompt that is one quoted string
    (``"a fox, at dusk"``) is that string without its quotes. Words separated by options
    are joined by one space.

    Example:
        >>> line = 'a shop sign that says "OPEN" -s 3'
        >>> prompt_text(line, split_words(line)[:6])
        'a shop sign that says "OPEN"'
        >>> prompt_text('"a fox, at dusk" -s 3', split_words('"a fox, at dusk" -s 3')[:1])
        'a fox, at dusk'
    """
    spans = [(w.start, w.end) if isinstance(w, Word) else None for w in words]
    if not words or None in spans:
        return " ".join(words)
    first = words[0]
    assert isinstance(first, Word)
    if len(words) == 1 and _whole_quoted(line[first.start : first.end]):
        return str(first)
    runs: list[str] = []
    run_start = run_end = -1
    for word in words:
        assert isinstance(word, Word)
        if run_end >= 0 and line[run_end : word.start].strip():
            runs.append(line[run_start:run_end])
            run_start = -1
        if run_start < 0:
            run_start = word.start
        run_end = word.end
    runs.append(line[run_start:run_end])
    return " ".join(runs)


def _whole_quoted(raw: str) -> bool:
    """True if ``raw`` is one quoted string from its first character to its last."""
    quote = raw[:1]
    if quote not in _QUOTES or not quote:
        return False
    i = 1
    while i < len(raw):
        if raw[i] == "\\" and quote == '"' and i + 1 < len(raw) and raw[i + 1] in '"\\':
            i += 2
            continue
        if raw[i] == quote:
            return i == len(raw) - 1
        i += 1
    return False


def split_words(text: str) -> list[str]:
    """Split a line into words, shell-style, but kind to apostrophes.

    ``"..."`` and ``'...'`` group words; a backslash escapes a quote, a backslash or a
    blank; a quote right after a letter or digit is just a character.

    Example:
        >>> split_words('''a fox's "den at dusk" -W 512''')
        ['a', "fox's", 'den at dusk', '-W', '512']
    """
    words: list[str] = []
    word: list[str] = []
    started = False  # a word has begun (even an empty "" one)
    start = 0
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
                words.append(Word("".join(word), start, i))
                word, started = [], False
        elif char in _QUOTES and not (i > 0 and text[i - 1].isalnum()):
            start = i if not started else start
            quote, started = char, True
        elif char == "\\" and i + 1 < n and (text[i + 1] in "\\'\"" or text[i + 1].isspace()):
            start = i if not started else start
            i += 1
            word.append(text[i])
            started = True
        else:
            start = i if not started else start
            word.append(char)
            started = True
        i += 1
    if quote:
        raise MagicUsageError(
            f"a {quote} quote is not closed: put the whole prompt in quotes, "
            f"e.g. {EXAMPLE}, or write \\{quote} for the character itself"
        )
    if started:
        words.append(Word("".join(word), start, n))
    return words


def strip_magic_name(line: str, cell: str | None) -> tuple[str, str | None]:
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


def json_head(line: str) -> tuple[str, str]:
    """A line that starts with a JSON object or list: that JSON (the prompt, as written) and
    the rest of the line (its options); otherwise ``("", line)``."""
    text = line.lstrip()
    if text[:1] not in ("{", "["):
        return "", line
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return "", line
    if not isinstance(value, (dict, list)) or text[end : end + 1].strip():
        return "", line
    return text[:end], text[end:]


# --- {name} fields ------------------------------------------------------------------------

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


def _closing(text: str, start: int) -> int:
    """The index of the ``}`` that closes the ``{`` at ``start`` (nested braces counted)."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise MagicUsageError(f"a {{ is not closed in {text!r}: close it, or {_BRACES_HELP}")


def _known_wildcards_only(text: str) -> str:
    """``__name__`` is a wildcard only where its file exists; elsewhere it is just words
    (a prompt about ``__init__``), so every snippet line reads back as the same prompt."""
    if "__" not in text:
        return text
    from klein_widget.lessons._variants import known_wildcard

    def keep(match: re.Match[str]) -> str:
        word = match.group()
        return word if known_wildcard(word[2:-2]) else literal(word)

    return WILDCARD.sub(keep, text)


def _expand_prompt(text: str, namespace: Mapping[str, Any]) -> str:
    if is_json_prompt(text):
        return PROTECTED + literal(text)
    text = _known_wildcards_only(escape_own(text))
    pieces: list[str] = []
    position = 0
    while position < len(text):
        pair = text[position : position + 2]
        char = text[position]
        if pair in ("{{", "}}"):
            pieces.append(literal(pair[0]))
            position += 2
        elif char == "{":
            end = _closing(text, position)
            field = text[position + 1 : end]
            if is_variant_group(field):
                pieces.append(text[position : end + 1])
            else:
                pieces.append(literal(expand("{" + field + "}", namespace)))
            position = end + 1
        elif char == "}":
            raise MagicUsageError(f"a single }} in {text!r}: {_BRACES_HELP}")
        else:
            pieces.append(char)
            position += 1
    return PROTECTED + "".join(pieces)


def expand(text: str, namespace: Mapping[str, Any], *, variants: bool = False) -> str:
    """Fill in ``{name}`` fields from ``namespace``; ``{{`` and ``}}`` are literal braces.

    With ``variants=True`` (a prompt) variant fields are kept and literal text is
    protected for `klein_widget.lessons._variants` (`restore` gives plain text back).

    Example:
        >>> expand("a {colour} fox {{not a field}}", {"colour": "red"})
        'a red fox {not a field}'
    """
    if variants:
        return _expand_prompt(text, namespace)
    if "{" not in text and "}" not in text:
        return text
    try:
        return _NamespaceFormatter(namespace).vformat(text, (), {})
    except MagicUsageError:
        raise
    except (ValueError, TypeError) as error:  # unbalanced braces, a bad format spec
        raise MagicUsageError(f"cannot fill in {text!r}: {error}; {_BRACES_HELP}") from None
