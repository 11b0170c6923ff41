"""The text of a ``%klein`` line, before its options mean anything. Pure: no IPython.

`strip_magic_name` and `json_head` take the magic's name and a JSON prompt off,
`split_words` splits the rest (its inverse for one word: `klein_widget.ui._snippets.quote_word`),
and `prompt_text` gives the prompt back as typed. ``{name}`` fields are filled in
afterwards (`klein_widget.magic._fields`).

Example:
    >>> split_words('a "red fox" -s 7')
    ['a', 'red fox', '-s', '7']
"""

from __future__ import annotations

import json

from klein_widget.ui._magic_options import EXAMPLE, MagicUsageError

__all__ = [
    "Word",
    "json_head",
    "prompt_text",
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


def prompt_text(line: str, words: list[Word]) -> str:
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
    if not words:
        return ""
    first = words[0]
    if len(words) == 1 and _whole_quoted(line[first.start : first.end]):
        return str(first)
    runs: list[str] = []
    run_start = run_end = -1
    for word in words:
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
        else:
            if not started:
                start, started = i, True
            if char in _QUOTES and not (i > 0 and text[i - 1].isalnum()):
                quote = char
            elif char == "\\" and i + 1 < n and (text[i + 1] in "\\'\"" or text[i + 1].isspace()):
                i += 1
                word.append(text[i])
            else:
                word.append(char)
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
