"""The ``klein`` command's exit codes: one table, shown by every ``--help`` and docs/CLIENT.md.

Example:
    >>> exit_code(InvalidRequestError("width must be from 256 to 1536"))
    2
    >>> print(exit_codes_text().splitlines()[1])
      0    ok
"""

from __future__ import annotations

from klein_widget.client._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BudgetExceededError,
    GenerationFailedError,
    GenerationTimeoutError,
    InvalidRequestError,
    KleinError,
    RateLimitError,
)

__all__ = [
    "ERROR_CODES",
    "EXIT_CODES",
    "INTERRUPTED",
    "MISSING_EXTRA",
    "NOT_WRITTEN",
    "exit_code",
    "exit_codes_text",
]

MISSING_EXTRA = 10
NOT_WRITTEN = 11
INTERRUPTED = 130  # the shell's code for Ctrl-C (128 + SIGINT)

# Errors by class, most specific first: an error takes the first code that matches.
ERROR_CODES: tuple[tuple[type[KleinError], int, str], ...] = (
    (InvalidRequestError, 2, "bad input (or a bad option); nothing was sent"),
    (AuthenticationError, 3, "no API key, or the server refused it"),
    (BudgetExceededError, 4, "the image would cross the spending cap; nothing was sent"),
    (RateLimitError, 5, "429, too many requests"),
    (GenerationFailedError, 6, "the task ended failed, cancelled, timed out or deleted"),
    (GenerationTimeoutError, 7, "we stopped waiting; the task may still finish"),
    (APIConnectionError, 8, "the server could not be reached, or the connection broke"),
    (APIStatusError, 9, "the server answered with another error"),
    (KleinError, 1, "any other klein-widget error"),
)

# Every code, in order, with what it means (docs/CLIENT.md's table says the same).
EXIT_CODES: tuple[tuple[int, str], ...] = tuple(
    sorted(
        [
            (0, "ok"),
            *((code, f"{cls.__name__}: {meaning}") for cls, code, meaning in ERROR_CODES),
            (MISSING_EXTRA, 'a missing extra: pip install "klein-widget[emulator]"'),
            (NOT_WRITTEN, "the image was made but the -o file could not be written"),
            (INTERRUPTED, "interrupted (Ctrl-C): a submitted task may still be billed"),
        ]
    )
)


def exit_code(error: KleinError) -> int:
    """The process exit code for an error (see ``klein --help``)."""
    return next(code for cls, code, _ in ERROR_CODES if isinstance(error, cls))


def exit_codes_text() -> str:
    """The ``exit codes:`` block at the end of every ``--help``."""
    return "exit codes:\n" + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)
