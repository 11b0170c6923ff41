"""Code that reproduces one image: Python, ``%klein``, curl and the command line.

Pure functions of a `GenerationRequest` with a concrete seed. The key is always read
from ``$WAVESPEED_API_KEY`` by the code shown, never written into it.

An edit's curl script first uploads each local reference with WaveSpeed's upload protocol,
as its official SDK speaks it, in POSIX shell with curl and jq: ``POST
$BASE/api/v3/media/uploads`` with the key and the file's name, size and type gives a
ticket; the bytes are ``PUT`` to the ticket's URL with exactly the ticket's headers and
never the key (on WaveSpeed that URL is another host's); the ticket's ``download_url``
goes into the body's ``images``. A failed upload prints the answer and no submit follows.

Example:
    >>> from klein_widget.client._models import GenerationRequest
    >>> print(cli_snippet(GenerationRequest("a red fox", 768, 512, seed=42)))
    klein generate 'a red fox' --width 768 --height 512 --seed 42 -o klein-42.png
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from klein_widget.client._config import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    result_path,
    submit_path,
)
from klein_widget.client._models import RANDOM_SEED, GenerationRequest
from klein_widget.client._upload_answers import UPLOAD_PATH
from klein_widget.ui._family_text import lora_text, reference_words, snippet_values
from klein_widget.ui._magic_line import format_magic

CLI_COMMAND = "klein"  # the console script pyproject.toml installs

__all__ = [
    "CLI_COMMAND",
    "cli_snippet",
    "curl_snippet",
    "default_filename",
    "magic_snippet",
    "python_snippet",
    "snippets",
]


def _concrete(request: GenerationRequest) -> GenerationRequest:
    # A snippet with seed -1 would make a different image: refuse it.
    if request.seed == RANDOM_SEED:
        raise ValueError(
            "a snippet needs the concrete seed the image was made with, not -1: "
            "use generation.request (or request.with_concrete_seed())"
        )
    return request


def default_filename(request: GenerationRequest, extension: str = "png") -> str:
    """The file name snippets save to: ``klein-<seed>.<extension>``.

    Example:
        >>> default_filename(GenerationRequest("fox", seed=7))
        'klein-7.png'
    """
    return f"klein-{request.seed}.{extension}"


def _custom_base_url(base_url: str | None) -> str | None:
    url = (base_url or "").rstrip("/")
    return url if url and url != DEFAULT_BASE_URL else None


def python_snippet(
    request: GenerationRequest, *, base_url: str | None = None, filename: str | None = None
) -> str:
    """Python that makes the same image with `klein_widget.KleinClient` and saves it:
    ``client.generate`` (with ``model=``/``loras=`` when they are not the default), or
    ``client.edit`` with the references (`reference_words`).

    ``base_url`` is written only if it is not WaveSpeed's (the client otherwise reads
    ``$WAVESPEED_BASE_URL``).

    Example:
        >>> print(python_snippet(GenerationRequest("a red fox", 768, 512, seed=42)))
        from klein_widget import KleinClient
        <BLANKLINE>
        client = KleinClient()  # reads the key from $WAVESPEED_API_KEY
        gen = client.generate(
            'a red fox',
            width=768,
            height=512,
            seed=42,
        )
        gen.save('klein-42.png')
    """
    request = _concrete(request)
    custom = _custom_base_url(base_url)
    args = f"base_url={custom!r}" if custom else ""
    references = reference_words(request)
    notes = [
        f"# {r.word}: the image you gave as image {n} (sha256 {r.sha256[:12]}…)"
        for n, r in enumerate(references, 1)
        if r.uploaded
    ]
    method = "edit" if request.is_edit else "generate"
    call = [f"gen = client.{method}(", f"    {request.prompt!r},"]
    if request.is_edit:
        call.append(f"    {[r.word for r in references]!r},")
    return "\n".join(
        [
            "from klein_widget import KleinClient",
            "",
            f"client = KleinClient({args})  # reads the key from ${API_KEY_ENV}",
            *notes,
            *call,
            *(f"    {name}={value!r}," for name, value in snippet_values(request).items()),
            ")",
            f"gen.save({filename or default_filename(request)!r})",
        ]
    )


def cli_snippet(
    request: GenerationRequest, *, base_url: str | None = None, filename: str | None = None
) -> str:
    """A shell command: ``klein generate ... -o FILE``, or ``klein edit IMAGE... PROMPT``
    (``klein`` is installed with the package; ``python -m klein_widget`` is the same).

    A base URL other than WaveSpeed's is passed as ``WAVESPEED_BASE_URL=...`` in front.
    """
    request = _concrete(request)
    custom = _custom_base_url(base_url)
    prefix = f"{BASE_URL_ENV}={shlex.quote(custom)} " if custom else ""
    values = snippet_values(request)
    loras = values.pop("loras", ())
    options = [f"--{name} {value}" for name, value in values.items()]
    options += [f"--lora {shlex.quote(lora_text(lora))}" for lora in request.loras if loras]
    options.append(f"-o {shlex.quote(filename or default_filename(request))}")
    command = "edit" if request.is_edit else "generate"
    words = [shlex.quote(r.word) for r in reference_words(request)]
    words.append(shlex.quote(request.prompt))
    # A prompt (or file) starting with "-" would be read as an option: put them after "--".
    if any(word.startswith("-") for word in words):
        return f"{prefix}{CLI_COMMAND} {command} {' '.join(options)} -- {' '.join(words)}"
    return f"{prefix}{CLI_COMMAND} {command} {' '.join(words)} {' '.join(options)}"


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


def _upload_steps(uploads: Sequence[tuple[int, str]]) -> list[str]:
    """The ``upload`` function and one ``IMAGEn=$(upload FILE)`` line per local reference
    (``uploads``: each reference's index in ``images`` and its file name)."""
    return [
        *_UPLOAD_FUNCTION,
        *(f"{_variable(index)}=$(upload {shlex.quote(name)})" for index, name in uploads),
    ]


def _upload_guard(uploads: Sequence[tuple[int, str]]) -> str:
    """``[ -n "$IMAGE1" ] && `` for each upload: the submit runs only if every upload
    gave its URL."""
    return "".join(f'[ -n "${_variable(index)}" ] && ' for index, _ in uploads)


def _images_filter(uploads: Sequence[tuple[int, str]]) -> str:
    """The jq command that puts each upload's URL into the body's ``images``."""
    arguments = " ".join(f'--arg {_variable(i).lower()} "${_variable(i)}"' for i, _ in uploads)
    program = " | ".join(f".images[{i}] = ${_variable(i).lower()}" for i, _ in uploads)
    return f"jq -c {arguments} {shlex.quote(program)}"


def curl_snippet(
    request: GenerationRequest, *, base_url: str | None = None, filename: str | None = None
) -> str:
    """A POSIX shell script with curl and jq: (for an edit's local references: a ticket,
    a PUT of the bytes and the download URL each) submit, poll the result URL, download.

    The body is exactly ``request.to_json()``, an uploaded reference's URL replaced by the
    one its upload gives; the key comes from ``$WAVESPEED_API_KEY`` and goes only in the
    Authorization header of requests to ``$BASE``. Errors are printed, never ``exit``: the
    script may be pasted into a terminal.
    """
    request = _concrete(request)
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    uploads = [(n, r.word) for n, r in enumerate(reference_words(request)) if r.uploaded]
    sent = request.to_json()
    for index, name in uploads:  # the URL its upload gives goes there (_images_filter)
        sent["images"][index] = name
    body = json.dumps(sent, ensure_ascii=False)
    auth = f'-H "Authorization: Bearer ${API_KEY_ENV}"'
    out = shlex.quote(filename or default_filename(request))
    poll = result_path("$TASK")
    data = f"  -d {shlex.quote(body)})"
    if uploads:
        data = f"  -d \"$(printf '%s' {shlex.quote(body)} | {_images_filter(uploads)})\")"
    return "\n".join(
        [
            f"# Submit, poll, download (needs curl and jq). The key comes from ${API_KEY_ENV}.",
            f"BASE={shlex.quote(base)}",
            *(_upload_steps(uploads) if uploads else []),
            f"{_upload_guard(uploads)}SUBMIT=$(curl -sS -X POST "
            f'"$BASE{submit_path(request.klein_model.id)}" \\',
            f"  {auth} \\",
            '  -H "Content-Type: application/json" \\',
            data,
            "TASK=$(printf '%s' \"$SUBMIT\" | jq -r '.data.id // empty')",
            '[ -n "$TASK" ] || printf \'submit failed: %s\\n\' "$SUBMIT" >&2',
            'STATUS=""',
            'while [ -n "$TASK" ] && [ "$STATUS" != completed ]; do',
            "  sleep 1",
            f'  RESULT=$(curl -sS "$BASE{poll}" {auth})',
            "  STATUS=$(printf '%s' \"$RESULT\" | jq -r '.data.status // empty')",
            '  case "$STATUS" in failed|cancelled|timeout|deleted)',
            '    printf \'%s\\n\' "$RESULT" >&2; TASK="";; esac',
            "done",
            '[ "$STATUS" = completed ] && \\',
            f"  curl -sS -o {out} \"$(printf '%s' \"$RESULT\" | jq -r '.data.outputs[0]')\"",
        ]
    )


def magic_snippet(request: GenerationRequest) -> str:
    """The ``%klein`` line (or ``%%klein`` cell) for the request."""
    return format_magic(_concrete(request))


def snippets(
    request: GenerationRequest,
    *,
    base_url: str | None = None,
    filename: str | None = None,
    base_url_from_env: bool = False,
) -> dict[str, str]:
    """Every snippet for ``request``, by tab title: Python, %klein, curl, CLI.

    ``base_url_from_env``: ``base_url`` is what ``$WAVESPEED_BASE_URL`` says, so the Python
    and CLI snippets leave it out (they read the variable); curl always names it.

    Example:
        >>> list(snippets(GenerationRequest("fox", seed=1)))  # doctest: +SKIP
        ['Python', '%klein', 'curl', 'CLI']
    """
    implicit = None if base_url_from_env else base_url
    return {
        "Python": python_snippet(request, base_url=implicit, filename=filename),
        "%klein": magic_snippet(request),
        "curl": curl_snippet(request, base_url=base_url, filename=filename),
        "CLI": cli_snippet(request, base_url=implicit, filename=filename),
    }
