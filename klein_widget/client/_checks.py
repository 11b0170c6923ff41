"""The checks every request's value goes through, each saying what to do instead:
whole numbers in a range, booleans, and a prompt (`check_prompt`).

Example:
    >>> check_int("seed", 7, -1, 10)
    7
"""

from __future__ import annotations

from klein_widget.client._exceptions import InvalidRequestError

__all__ = ["check_bool", "check_int", "check_prompt"]


def check_int(name: str, value: object, low: int, high: int, hint: str = "") -> int:
    # bool is an int subclass, and 1024.0 is a float: both are mistakes worth naming.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequestError(
            f"{name} must be a whole number from {low} to {high}{hint}, "
            f"not {type(value).__name__} {value!r}",
            field=name,
        )
    if not low <= value <= high:
        raise InvalidRequestError(
            f"{name} must be from {low} to {high}{hint}, not {value}", field=name
        )
    return value


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(
            f"{name} must be True or False, not {type(value).__name__} {value!r}", field=name
        )
    return value


def check_prompt(prompt: object) -> str:
    """Return the prompt stripped of surrounding blanks, or raise `InvalidRequestError`.

    Example:
        >>> check_prompt("  a red fox ")
        'a red fox'
    """
    if not isinstance(prompt, str):
        raise InvalidRequestError(
            f"prompt must be text, not {type(prompt).__name__}", field="prompt"
        )
    text = prompt.strip()
    if not text:
        raise InvalidRequestError(
            "prompt is empty: describe the image, e.g. 'a red fox in snow'", field="prompt"
        )
    if not text.isascii():
        try:  # a lone surrogate (a bad paste) cannot be sent as UTF-8 JSON
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRequestError(
                "prompt contains a broken character (an unpaired surrogate, often from a bad "
                "copy-paste): retype that part of the prompt",
                field="prompt",
            ) from None
    return text
