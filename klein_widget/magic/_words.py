"""The words of a ``%klein`` line: split shell-style, quoted back; and the usage error.

`split_words` splits a line the way a shell would, but kind to apostrophes
(`klein_widget.ui._snippets.quote_word` is its inverse for one word).
`MagicUsageError` lives here, at the bottom of the parse,
because every step above (words, ``{name}`` fields, options, the line) raises it.
Pure: no IPython.

Example:
    >>> words = split_words('''a fox's "den at dusk" -W 512''')
    >>> words
    ['a', "fox's", 'den at dusk', '-W', '512']
"""

from __future__ import annotations

__all__ = ["EXAMPLE", "MagicUsageError", "split_words"]

EXAMPLE = '%klein "a red fox in snow" -W 768 -H 512 -s 42'  # shown in usage errors

_QUOTES = "'\""


class MagicUsageError(ValueError):
    """A mistake in a ``%klein`` line; the message says what is allowed. Nothing was sent."""


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
            f"e.g. {EXAMPLE}, or write \\{quote} for the character itself"
        )
    if started:
        words.append("".join(word))
    return words
