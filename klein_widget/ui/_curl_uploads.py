"""The upload steps of an edit's curl snippet (`klein_widget.ui._snippets.curl_snippet`):
WaveSpeed's upload protocol, as its official SDK speaks it, in POSIX shell with curl and jq.

For each local reference: ``POST $BASE/api/v3/media/uploads`` with the key and the file's
name, size and type gives a ticket; the bytes are ``PUT`` to the ticket's URL with exactly
the ticket's headers and never the key (on WaveSpeed that URL is another host's); the
ticket's ``download_url`` goes into the body's ``images``. A failed upload prints the
answer and no submit follows.

Example:
    >>> images_filter([(0, "reference-1.png")])
    'jq -c --arg image1 "$IMAGE1" \\'.images[0] = $image1\\''
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from klein_widget.client._config import API_KEY_ENV
from klein_widget.client._upload_answers import UPLOAD_PATH

__all__ = ["images_filter", "upload_guard", "upload_steps"]

_UPLOAD_FUNCTION = [
    "# Upload a local file (free): a ticket from $BASE (with the key), the bytes PUT to the",
    "# ticket's URL (another host: never the key there), then print its download URL.",
    "upload() {",
    "  FILE=$1",
    '  case "$FILE" in *.jpg|*.jpeg) TYPE=image/jpeg;; *.webp) TYPE=image/webp;; '
    "*) TYPE=image/png;; esac",
    f'  TICKET=$(curl -sS -X POST "$BASE{UPLOAD_PATH}" \\',
    f'    -H "Authorization: Bearer ${API_KEY_ENV}" \\',
    '    -H "Content-Type: application/json" \\',
    '    -d "$(jq -cn --arg f "$FILE" --arg t "$TYPE" --argjson s "$(wc -c < "$FILE")" \\',
    "      '{filename: $f, size: $s, content_type: $t}')\")",
    "  PUT_URL=$(printf '%s' \"$TICKET\" | jq -r '.data.upload.url // empty')",
    '  [ -n "$PUT_URL" ] || { printf \'upload failed: %s\\n\' "$TICKET" >&2; return 1; }',
    "  set --",
    '  while IFS= read -r HEADER; do [ -n "$HEADER" ] && set -- "$@" -H "$HEADER"; done <<HEADERS',
    "$(printf '%s' \"$TICKET\" | jq -r '.data.upload.headers // {} | to_entries[] | "
    '"\\(.key): \\(.value)"\')',
    "HEADERS",
    '  curl -sS -f -X PUT "$PUT_URL" "$@" --data-binary "@$FILE" >/dev/null || return 1',
    "  printf '%s' \"$TICKET\" | jq -r '.data.download_url'",
    "}",
]


def _variable(index: int) -> str:
    return f"IMAGE{index + 1}"


def upload_steps(uploads: Sequence[tuple[int, str]]) -> list[str]:
    """The ``upload`` function and one ``IMAGEn=$(upload FILE)`` line per local reference
    (``uploads``: each reference's index in ``images`` and its file name)."""
    return [
        *_UPLOAD_FUNCTION,
        *(f"{_variable(index)}=$(upload {shlex.quote(name)})" for index, name in uploads),
    ]


def upload_guard(uploads: Sequence[tuple[int, str]]) -> str:
    """``[ -n "$IMAGE1" ] && `` for each upload: the submit runs only if every upload
    gave its URL."""
    return "".join(f'[ -n "${_variable(index)}" ] && ' for index, _ in uploads)


def images_filter(uploads: Sequence[tuple[int, str]]) -> str:
    """The jq command that puts each upload's URL into the body's ``images``."""
    arguments = " ".join(f'--arg {_variable(i).lower()} "${_variable(i)}"' for i, _ in uploads)
    program = " | ".join(f".images[{i}] = ${_variable(i).lower()}" for i, _ in uploads)
    return f"jq -c {arguments} {shlex.quote(program)}"
