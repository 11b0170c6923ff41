"""``klein``'s entry point: dispatch, and every error as one line and an exit code."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from klein_widget.cli._codes import INTERRUPTED, MISSING_EXTRA, NOT_WRITTEN, exit_code
from klein_widget.cli._commands import ImageNotWritten, edit, enhance, generate, resume
from klein_widget.cli._hand_in import hand_in_command
from klein_widget.cli._pack import pack
from klein_widget.cli._parser import build_parser
from klein_widget.client._config import API_KEY_ENV, BASE_URL_ENV, resolve_base_url
from klein_widget.client._exceptions import AuthenticationError, KleinError, fetch_later
from klein_widget.ui._text import error_text

__all__ = ["EMULATOR_EXTRA", "key_error_text", "main", "terminal_text"]

# What a terminal user can do about a paid task that has not arrived (the client's words
# name Python calls instead).
FETCH_LATER = "Run `klein resume` later: it fetches it into the gallery, without paying again."

EMULATOR_EXTRA = ("starlette", "uvicorn")  # what `pip install "klein-widget[emulator]"` adds

_TRY_FREE = (
    f"or try it free: run `klein emulator` in another terminal, then here the "
    f"`export {BASE_URL_ENV}=...` line it prints"
)


def key_error_text(error: AuthenticationError, *, base_url: str, key_set: bool) -> str:
    """An `AuthenticationError` worded for a terminal: the steps are shell commands.

    Example:
        >>> error = AuthenticationError("no key")
        >>> text = key_error_text(error, base_url="https://api.wavespeed.ai", key_set=False)
        >>> text.startswith("No WaveSpeed API key is set, so nothing was sent: run `export")
        True
    """
    export = f"run `export {API_KEY_ENV}=<your key>`"
    if key_set:  # sent and refused, or unusable: the client's words name only the variable
        return error_text(error)
    if error.status_code is None:
        return (
            f"No WaveSpeed API key is set, so nothing was sent: {export} (the key from your "
            f"WaveSpeed dashboard), {_TRY_FREE}."
        )
    return (
        f"The server at {base_url} wants an API key ({error.status_code}) and none is set: "
        f"{export} and try again."
    )


def terminal_text(error: KleinError) -> str:
    """A `KleinError` in a terminal's terms: the Python way to fetch later becomes a command.

    Example:
        >>> terminal_text(KleinError("Timed out. " + fetch_later("t1"), task_id="t1"))
        'Timed out. Run `klein resume` later: it fetches it into the gallery, without paying again.'
    """
    return error_text(error).replace(fetch_later(error.task_id), FETCH_LATER)


def _missing_extra() -> str | None:
    """The first module of the [emulator] extra that cannot be imported, if any."""
    for name in EMULATOR_EXTRA:
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


def _needs_extra(command: str, error: ImportError) -> int:
    """Say which extra ``klein COMMAND`` needs and how to install it (re-raise ``error``
    when the extra is there: then it is a bug, shown as one)."""
    missing = _missing_extra()
    if missing is None:
        raise error
    print(
        f"error: `klein {command}` needs the [{command}] extra ({missing} is not installed). "
        f"Install it into the Python that runs klein ({sys.executable}):\n\n"
        f'    pip install "klein-widget[{command}]"\n',
        file=sys.stderr,
    )
    return MISSING_EXTRA


def _serve(command: str, argv: list[str]) -> int:
    """``klein emulator ...`` or ``klein gateway ...``: each server's own command line."""
    try:
        if command == "emulator":
            from klein_widget.emulator.cli import main as server_main
        else:
            from klein_widget.gateway.cli import main as server_main
    except ImportError as error:
        return _needs_extra(command, error)
    return server_main(argv)


def _on_a_hub() -> None:
    """In a JupyterHub server's terminal with no WaveSpeed settings of one's own, use the
    class's gateway as `klein_widget.connect()` does in its kernels (no token to paste)."""
    if os.environ.get(BASE_URL_ENV) or "JUPYTERHUB_API_TOKEN" not in os.environ:
        return
    from klein_widget._hub_connect import class_gateway

    found = class_gateway(os.environ)
    if found is not None:
        print(f"Using your class's gateway ({found[0]}), signed in by JupyterHub.", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``klein`` command line; returns the exit code (``klein --help`` lists them)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["emulator"], ["gateway"]):  # their own parsers (klein_widget.*.cli)
        return _serve(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    try:
        commands = {
            "generate": generate,
            "edit": edit,
            "enhance": enhance,
            "resume": resume,
            "pack": pack,
            "hand-in": hand_in_command,
        }
        command = commands[args.command]
        if args.command != "pack":  # every command that talks to a server
            _on_a_hub()
        return command(args)
    except AuthenticationError as error:
        key_set = bool(os.environ.get(API_KEY_ENV, "").strip())
        text = key_error_text(error, base_url=resolve_base_url(None), key_set=key_set)
        print(f"error: {text}", file=sys.stderr)
        return exit_code(error)
    except KleinError as error:
        print(f"error: {terminal_text(error)}", file=sys.stderr)
        return exit_code(error)
    except ImageNotWritten as error:
        print(f"error: {error}", file=sys.stderr)
        return NOT_WRITTEN
    except KeyboardInterrupt:
        print("interrupted: a submitted task may still finish and be billed", file=sys.stderr)
        return INTERRUPTED
