"""``{name}`` fields of a ``%klein`` line, filled in from the notebook's namespace. Pure.

`expand` is `str.format` over the namespace, with no calls, no positional fields and no
private attributes (its inverse: `klein_widget.ui._snippets.escape_braces`). In a prompt,
variant groups (`klein_widget.lessons._variant_text.is_variant_group`) are kept for the
grid, and ``{{``/``}}`` and filled-in values are kept literal: they never expand as
variants (`restore` gives the plain text back).

Example:
    >>> from klein_widget.lessons._variant_text import restore
    >>> restore(expand_prompt("a {size} {red|blue} fox {{x}}", {"size": "small"}))
    'a small {red|blue} fox {x}'
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from klein_widget.lessons._variant_text import (
    WILDCARD,
    Protected,
    escape_own,
    is_json_prompt,
    is_variant_group,
    literal,
)
from klein_widget.ui._magic_options import MagicUsageError

__all__ = ["expand", "expand_prompt"]

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
    """`str.format` over a namespace (its keyword arguments): names, ``.attr`` and
    ``[index]`` only, no calls."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        first, rest = _split_field(field_name)
        if not first or first.isdigit():
            raise MagicUsageError(
                f"{{}} and {{{field_name or 0}}} are not filled in: name a variable, e.g. "
                f"{{animal}}, or {_BRACES_HELP}"
            )
        if first not in kwargs:
            raise MagicUsageError(
                f"{{{field_name}}}: there is no variable named {first!r}; define it in a "
                f"cell first, or {_BRACES_HELP}"
            )
        value = kwargs[first]
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


def expand_prompt(text: str, namespace: Mapping[str, Any]) -> str:
    """A prompt with its ``{name}`` fields filled in from ``namespace``: variant fields are
    kept, and literal text is protected for `klein_widget.lessons._variants` (`restore`
    gives plain text back). A JSON prompt is all literal."""
    if is_json_prompt(text):
        return Protected(literal(text))
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
    return Protected("".join(pieces))


def expand(text: str, namespace: Mapping[str, Any]) -> str:
    """Fill in ``{name}`` fields from ``namespace``; ``{{`` and ``}}`` are literal braces
    (an option's value; a prompt is `expand_prompt`'s).

    Example:
        >>> expand("a {colour} fox {{not a field}}", {"colour": "red"})
        'a red fox {not a field}'
    """
    if "{" not in text and "}" not in text:
        return text
    try:
        return _NamespaceFormatter().vformat(text, (), namespace)
    except MagicUsageError:
        raise
    except (ValueError, TypeError) as error:  # unbalanced braces, a bad format spec
        raise MagicUsageError(f"cannot fill in {text!r}: {error}; {_BRACES_HELP}") from None
