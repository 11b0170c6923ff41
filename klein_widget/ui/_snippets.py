"""Code that reproduces one image: Python, ``%klein``, curl and the command line.

Pure functions of a `GenerationRequest` with a concrete seed. The key is always read
from ``$WAVESPEED_API_KEY`` by the code shown, never written into it.

Example:
    >>> from klein_widget.client._models import GenerationRequest
    >>> print(cli_snippet(GenerationRequest("a red fox", 768, 512, seed=42)))
    klein generate 'a red fox' --width 768 --height 512 --seed 42 -o klein-42.png
"""

from __future__ import annotations

import json
import re
import shlex

from klein_widget.client._config import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    result_path,
    submit_path,
)
from klein_widget.client._models import MODEL_ID, RANDOM_SEED, GenerationRequest
from klein_widget.ui._magic_options import magic_option

CLI_COMMAND = "klein"  # the console script pyproject.toml installs

__all__ = [
    "CLI_COMMAND",
    "cli_snippet",
    "curl_snippet",
    "default_filename",
    "escape_braces",
    "format_magic",
    "format_option",
    "magic_snippet",
    "python_snippet",
    "quote_word",
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
    """Python that makes the same image with `klein_widget.KleinClient` and saves it.

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
    return "\n".join(
        [
            "from klein_widget import KleinClient",
            "",
            f"client = KleinClient({args})  # reads the key from ${API_KEY_ENV}",
            "gen = client.generate(",
            f"    {request.prompt!r},",
            f"    width={request.width},",
            f"    height={request.height},",
            f"    seed={request.seed},",
            ")",
            f"gen.save({filename or default_filename(request)!r})",
        ]
    )


def cli_snippet(
    request: GenerationRequest, *, base_url: str | None = None, filename: str | None = None
) -> str:
    """A shell command: ``klein generate ... -o FILE`` (``klein`` is installed with the
    package; ``python -m klein_widget`` is the same command).

    A base URL other than WaveSpeed's is passed as ``WAVESPEED_BASE_URL=...`` in front.
    """
    request = _concrete(request)
    custom = _custom_base_url(base_url)
    prefix = f"{BASE_URL_ENV}={shlex.quote(custom)} " if custom else ""
    options = (
        f"--width {request.width} --height {request.height} --seed {request.seed} "
        f"-o {shlex.quote(filename or default_filename(request))}"
    )
    prompt = shlex.quote(request.prompt)
    # A prompt starting with "-" would be read as an option: put it after "--".
    if request.prompt.startswith("-"):
        return f"{prefix}{CLI_COMMAND} generate {options} -- {prompt}"
    return f"{prefix}{CLI_COMMAND} generate {prompt} {options}"


def curl_snippet(
    request: GenerationRequest, *, base_url: str | None = None, filename: str | None = None
) -> str:
    """A POSIX shell script with curl and jq: submit, poll the result URL, download.

    The body is exactly ``request.to_json()``; the key comes from ``$WAVESPEED_API_KEY``.
    Errors are printed, never ``exit``: the script may be pasted into a terminal.
    """
    request = _concrete(request)
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    body = json.dumps(request.to_json(), ensure_ascii=False)
    auth = f'-H "Authorization: Bearer ${API_KEY_ENV}"'
    out = shlex.quote(filename or default_filename(request))
    poll = result_path("$TASK")
    return "\n".join(
        [
            f"# Submit, poll, download (needs curl and jq). The key comes from ${API_KEY_ENV}.",
            f"BASE={shlex.quote(base)}",
            f'SUBMIT=$(curl -sS -X POST "$BASE{submit_path(MODEL_ID)}" \\',
            f"  {auth} \\",
            '  -H "Content-Type: application/json" \\',
            f"  -d {shlex.quote(body)})",
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


# --- the %klein language, written (the magic parses it: `klein_widget.magic._args`) ---------


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
    always written, so the line does not depend on ``%config`` defaults. The flags are the
    declared ones (`klein_widget.ui._magic_options`).

    Example:
        >>> format_magic(GenerationRequest("a {red} fox", 768, 512, seed=42))
        '%klein "a {{red}} fox" -W 768 -H 512 -s 42'
        >>> print(format_magic(GenerationRequest("a fox\\nin snow", seed=1)))
        %%klein -W 1024 -H 1024 -s 1
        a fox
        in snow
    """
    prompt = escape_braces(request.prompt)
    values = {"width": request.width, "height": request.height, "seed": request.seed}
    if request.sync_mode:
        values["sync"] = True
    options = " ".join(format_option(name, value) for name, value in values.items())
    if len(prompt.splitlines()) > 1:
        return f"%%klein {options}\n{prompt}"
    if prompt.startswith("-"):
        return f"%klein {options} -- {quote_word(prompt)}"
    return f"%klein {quote_word(prompt)} {options}"


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
    found = {
        "Python": python_snippet(request, base_url=implicit, filename=filename),
        "%klein": magic_snippet(request),
        "curl": curl_snippet(request, base_url=base_url, filename=filename),
        "CLI": cli_snippet(request, base_url=implicit, filename=filename),
    }
    return {title: text for title, text in found.items() if text is not None}
