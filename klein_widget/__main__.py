"""Command line: ``python -m klein_widget generate|enhance|emulator`` (also ``klein ...``).

Example:
    $ python -m klein_widget generate "a red fox" --width 768 --height 512 --seed 42 -o fox.png
    $ python -m klein_widget generate "a lighthouse" --aspect 16:9 --seed 7
    $ python -m klein_widget emulator --port 8765
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
from klein_widget.client._models import (
    DEFAULT_SIDE,
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    RANDOM_SEED,
    SIDE_STEP,
)
from klein_widget.client._run import Progress
from klein_widget.client._sync_client import KleinClient
from klein_widget.ui._sizes import ASPECT_PRESETS, size_for_aspect
from klein_widget.ui._text import done_text, error_text, progress_text

# One exit code per error class, most specific first; documented in --help.
EXIT_CODES: tuple[tuple[type[KleinError], int], ...] = (
    (InvalidRequestError, 2),
    (AuthenticationError, 3),
    (BudgetExceededError, 4),
    (RateLimitError, 5),
    (GenerationFailedError, 6),
    (GenerationTimeoutError, 7),
    (APIConnectionError, 8),
    (APIStatusError, 9),
    (KleinError, 1),
)

_EPILOG = "exit codes: 0 ok, " + ", ".join(f"{code} {cls.__name__}" for cls, code in EXIT_CODES)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m klein_widget",
        description="FLUX.2 [klein] 4B on WaveSpeed. The key comes from $WAVESPEED_API_KEY; "
        "$WAVESPEED_BASE_URL points elsewhere (e.g. the local emulator).",
        epilog=_EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="make one image and save it", epilog=_EPILOG)
    gen.add_argument("prompt", help="what the image shows (quote it)")
    side = f"{MIN_SIDE}-{MAX_SIDE} pixels, default {DEFAULT_SIDE}"
    gen.add_argument("-W", "--width", type=int, default=None, help=side)
    gen.add_argument("-H", "--height", type=int, default=None, help=side)
    gen.add_argument(
        "--aspect",
        default=None,
        metavar="W:H",
        help=f"e.g. {', '.join(ASPECT_PRESETS)}: the longer side is {DEFAULT_SIDE} (or give -W "
        f"or -H) and the other the multiple of {SIDE_STEP} closest to the ratio, as in the "
        "panel and %%klein",
    )
    gen.add_argument(
        "-s",
        "--seed",
        type=int,
        default=RANDOM_SEED,
        help=f"0-{MAX_SEED}, or -1 for random (the seed used is printed)",
    )
    gen.add_argument(
        "-o",
        "--out",
        default=None,
        help="file to write (default: klein-<seed>.png); parameters are embedded",
    )
    gen.add_argument("--sync", action="store_true", help="use WaveSpeed's sync mode")
    gen.add_argument("--base64", action="store_true", help="receive the image inline as base64")
    gen.add_argument("--timeout", type=float, default=None, help="seconds to wait at most")
    gen.add_argument("-q", "--quiet", action="store_true", help="print only the saved path")

    enhance = commands.add_parser("enhance", help="rewrite a prompt with the prompt optimizer")
    enhance.add_argument("prompt")

    commands.add_parser(
        "emulator", add_help=False, help="run the local WaveSpeed emulator (see its --help)"
    )
    return parser


def exit_code(error: KleinError) -> int:
    """The process exit code for an error (see ``--help``)."""
    return next(code for cls, code in EXIT_CODES if isinstance(error, cls))


def requested_size(args: argparse.Namespace) -> tuple[int, int]:
    """``(width, height)`` from ``generate``'s -W, -H and --aspect (the panel's rule).

    Example:
        >>> requested_size(_parser().parse_args(["generate", "fox", "--aspect", "3:2"]))
        (1024, 688)
    """
    if args.aspect is not None:
        return size_for_aspect(
            args.aspect, DEFAULT_SIDE, width=args.width, height=args.height, label="--aspect"
        )
    width = DEFAULT_SIDE if args.width is None else args.width
    return width, DEFAULT_SIDE if args.height is None else args.height


def _generate(args: argparse.Namespace) -> int:
    def show(progress: Progress) -> None:
        if not args.quiet and progress.stage != "done":
            print(progress_text(progress), file=sys.stderr)

    width, height = requested_size(args)
    with KleinClient() as client:
        generation = client.generate(
            args.prompt,
            width=width,
            height=height,
            seed=args.seed,
            sync_mode=args.sync,
            base64_output=args.base64,
            timeout=args.timeout,
            on_progress=show,
        )
    path = generation.save(args.out or f"klein-{generation.seed}.png")
    if not args.quiet:
        print(done_text(generation), file=sys.stderr)
    print(path)
    return 0


def _enhance(args: argparse.Namespace) -> int:
    with KleinClient() as client:
        print(client.enhance_prompt(args.prompt))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        try:
            from klein_widget.emulator.cli import main as emulator_main
        except ModuleNotFoundError as missing:  # the [emulator] extra is not installed
            print(f"error: {missing}", file=sys.stderr)
            return 2
        return emulator_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return _generate(args) if args.command == "generate" else _enhance(args)
    except KleinError as error:
        print(f"error: {error_text(error)}", file=sys.stderr)
        return exit_code(error)
    except KeyboardInterrupt:
        print("interrupted: a submitted task may still finish and be billed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
