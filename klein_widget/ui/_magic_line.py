"""The ``%klein`` language, written: the line (or ``%%klein`` cell) that makes a request
again (`format_magic`), one option (`format_option`), and the quoting and brace rules that
`klein_widget.magic._line.split_words` and `klein_widget.magic._fields.expand` undo. The
magic parses what this writes (`klein_widget.magic._args`); the flags are the declared ones
(`klein_widget.ui._magic_options`).

Example:
    >>> from klein_widget.client._models import GenerationRequest
    >>> format_magic(GenerationRequest("a red fox", 768, 512, seed=42))
    '%klein "a red fox" -W 768 -H 512 -s 42'
"""

from __future__ import annotations

import re

from klein_widget.client._models import GenerationRequest
from klein_widget.ui._family_text import lora_text, reference_words, snippet_values
from klein_widget.ui._magic_options import magic_option

__all__ = ["escape_braces", "format_magic", "format_option", "quote_word"]


def quote_word(text: str) -> str:
    r"""Quote a word so that `split_words` gives it back exactly.

    Example:
        >>> print(quote_word('say "hi" \\ end'))
        "say \"hi\" \\ end"
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def escape_braces(text: str) -> str:
    """Double every brace, so that `expand` gives ``text`` back unchanged.

    Example:
        >>> escape_braces("a {red} fox")
        'a {{red}} fox'
    """
    return text.replace("{", "{{").replace("}", "}}")


_PLAIN_WORD = re.compile(r"[A-Za-z0-9_.,:/*+=@%-]+")


def format_option(name: str, value: object) -> str:
    """One ``%klein`` option as the magic reads it, with its declared flag.

    A switch is its flag when ``value`` is true (``--no-sync`` for a false negatable one,
    nothing for another false one); other values are written as one word, braces doubled
    and quoted if need be. A value starting with ``-`` is attached (``--out=-x.png``) so
    that it is not read as an option. A repeatable option takes a list: one flag each.

    Example:
        >>> format_option("width", 768), format_option("sync", False)
        ('-W 768', '--no-sync')
        >>> format_option("out", "a {b}.png"), format_option("out", "-x.png")
        ('-o "a {{b}}.png"', '--out=-x.png')
        >>> format_option("ref", ["a.png", "b.png"])
        '--ref a.png --ref b.png'
    """
    option = magic_option(name)
    if option.repeat and isinstance(value, list | tuple):
        return " ".join(format_option(name, one) for one in value)
    if option.switch:
        if value:
            return option.flag
        return f"--no-{option.name}" if option.negatable else ""
    text = escape_braces(str(value))
    word = text if _PLAIN_WORD.fullmatch(text) else quote_word(text)
    if text.startswith("-") and not text.lstrip("-").isdecimal():
        return f"--{option.name}={word}"
    return f"{option.flag} {word}"


def format_magic(request: GenerationRequest) -> str:
    """The ``%klein`` line that makes ``request`` again (a ``%%klein`` cell if multi-line).

    Braces are doubled because the magic fills in ``{name}``; width, height and seed are
    always written (an edit that keeps its image's size: the seed), so the line does not
    depend on ``%config`` defaults; the model, an edit's images (`reference_words`) and
    LoRAs when there are any. The flags are the declared ones
    (`klein_widget.ui._magic_options`).

    Example:
        >>> format_magic(GenerationRequest("a {red} fox", 768, 512, seed=42))
        '%klein "a {{red}} fox" -W 768 -H 512 -s 42'
        >>> print(format_magic(GenerationRequest("a fox\\nin snow", seed=1)))
        %%klein -W 1024 -H 1024 -s 1
        a fox
        in snow
    """
    prompt = escape_braces(request.prompt)
    values = snippet_values(request)
    loras = values.pop("loras", ())
    words = [reference.word for reference in reference_words(request)]
    if words:
        values["edit"] = words[0]
    if words[1:]:
        values["ref"] = words[1:]
    if loras:
        values["lora"] = [lora_text(lora) for lora in request.loras]
    if request.sync_mode:
        values["sync"] = True
    options = " ".join(format_option(name, value) for name, value in values.items())
    if len(prompt.splitlines()) > 1:
        return f"%%klein {options}\n{prompt}"
    if prompt.startswith("-"):
        return f"%klein {options} -- {quote_word(prompt)}"
    return f"%klein {quote_word(prompt)} {options}"
