"""The ``klein`` command's arguments: ``generate``, ``edit``, ``enhance``, ``resume``, ``pack`` (its
own module, `klein_widget.cli._pack`) and ``emulator``.

Example:
    >>> args = build_parser().parse_args(["generate", "a fox", "--aspect", "3:2"])
    >>> requested_size(args)
    (1024, 688)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from klein_widget.cli._codes import exit_codes_text
from klein_widget.cli._hand_in import add_hand_in_parser
from klein_widget.cli._pack import add_pack_parser
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import DEFAULT_MODEL, LORA_SCALE_RANGE, MAX_LORAS, MAX_REFERENCES
from klein_widget.client._models import (
    DEFAULT_SIDE,
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    RANDOM_SEED,
    SIDE_STEP,
)
from klein_widget.ui._family_text import LORA_EXAMPLE, lora_from_text
from klein_widget.ui._sizes import ASPECT_PRESETS, size_for_aspect
from klein_widget.ui._snippets import CLI_COMMAND

__all__ = [
    "IMAGE_SUFFIXES",
    "build_parser",
    "edit_size",
    "out_path",
    "requested_loras",
    "requested_size",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

_DESCRIPTION = (
    "FLUX.2 [klein] 4B and 9B on WaveSpeed. The key comes from $WAVESPEED_API_KEY;\n"
    "$WAVESPEED_BASE_URL points elsewhere (e.g. at `klein emulator`, free and offline)."
)


class _CommandParser(argparse.ArgumentParser):
    """A parser of the ``klein`` command, as its commands' are too (argparse makes a
    subcommand's parser of its parent's class): descriptions kept as written, and the exit
    codes at the end of every ``--help``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(
            epilog=exit_codes_text(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **options,
        )


def _subparser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + "."
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``klein`` parser; every ``--help`` ends with the exit codes."""
    parser: argparse.ArgumentParser = _CommandParser(prog=CLI_COMMAND, description=_DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = _subparser(commands, "generate", "make one image and save it")
    gen.add_argument("prompt", help="what the image shows (quote it)")
    _add_image_options(gen, DEFAULT_SIDE)
    gen.add_argument(
        "--lora",
        action="append",
        default=[],
        metavar="URL[:SCALE]",
        help=f"a LoRA style (a URL or owner/repo; scale {LORA_SCALE_RANGE[0]:g}-"
        f"{LORA_SCALE_RANGE[1]:g}, default 1), e.g. --lora {LORA_EXAMPLE}; repeat it, up to "
        f"{MAX_LORAS}. Uses 4B's LoRA endpoint (not 9B)",
    )

    edit = _subparser(commands, "edit", "edit 1-4 images by an instruction and save the result")
    edit.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help=f"1-{MAX_REFERENCES} image files or http(s) URLs; the prompt calls them image 1, "
        "image 2 and so on (files are uploaded first, not billed)",
    )
    edit.add_argument("prompt", help='what changes, e.g. "make it night" (quote it)')
    _add_image_options(edit, None)

    enhance = _subparser(commands, "enhance", "rewrite a prompt with the prompt optimizer")
    enhance.add_argument("prompt", help="the prompt to rewrite (quote it)")

    resume = _subparser(
        commands,
        "resume",
        "download every paid image that never arrived, into the gallery (nothing is submitted)",
    )
    resume.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for each task at most"
    )

    add_pack_parser(commands)
    add_hand_in_parser(commands)

    # `klein emulator ...` is handed whole to the emulator's own parser (see its --help).
    commands.add_parser(
        "emulator", add_help=False, help="run the local WaveSpeed emulator (see its --help)"
    )
    commands.add_parser("gateway", add_help=False, help="run a classroom gateway (see its --help)")
    return parser


def _add_image_options(sub: argparse.ArgumentParser, side: int | None) -> None:
    """The options ``generate`` and ``edit`` share (``side``: the default; None keeps the
    first image's size)."""
    default = f"default {side}" if side else "default: the first image's size"
    sizes = f"{MIN_SIDE}-{MAX_SIDE} pixels, {default}"
    sub.add_argument("-W", "--width", type=int, default=None, help=sizes)
    sub.add_argument("-H", "--height", type=int, default=None, help=sizes)
    sub.add_argument(
        "--aspect",
        default=None,
        metavar="W:H",
        help=f"e.g. {', '.join(ASPECT_PRESETS)}: the longer side is {DEFAULT_SIDE} (or give -W "
        f"or -H) and the other the multiple of {SIDE_STEP} closest to the ratio, as in the "
        "panel and %%klein",
    )
    sub.add_argument(
        "-s",
        "--seed",
        type=int,
        default=RANDOM_SEED,
        help=f"0-{MAX_SEED}, or -1 for random (the seed used is printed)",
    )
    sub.add_argument(
        "--model",
        default=DEFAULT_MODEL.name,
        metavar="NAME",
        help="4b (default) or 9b, or a full WaveSpeed id"
        + ("; an edit uses that size's edit model" if side is None else ""),
    )
    sub.add_argument(
        "-o",
        "--out",
        default=None,
        metavar="FILE",
        help="the file to write, ending in .png, .jpg or .jpeg (default: klein-<seed>.png); "
        "the parameters are embedded",
    )
    sub.add_argument("--sync", action="store_true", help="use WaveSpeed's sync mode")
    sub.add_argument(
        "--fresh",
        action="store_true",
        help="ask WaveSpeed again even if the gallery has this image already",
    )
    sub.add_argument("--base64", action="store_true", help="receive the image inline as base64")
    sub.add_argument("--timeout", type=float, default=None, help="seconds to wait at most")
    sub.add_argument("-q", "--quiet", action="store_true", help="print only the saved path")


def requested_size(args: argparse.Namespace) -> tuple[int, int]:
    """``(width, height)`` from ``generate``'s -W, -H and --aspect (the panel's rule)."""
    if args.aspect is not None:
        return size_for_aspect(
            args.aspect, DEFAULT_SIDE, width=args.width, height=args.height, label="--aspect"
        )
    width = DEFAULT_SIDE if args.width is None else args.width
    return width, DEFAULT_SIDE if args.height is None else args.height


def edit_size(args: argparse.Namespace) -> tuple[int | None, int | None]:
    """``edit``'s size: as `requested_size` when -W, -H or --aspect is given, else
    ``(None, None)``, the first image's size."""
    if args.width is None and args.height is None and args.aspect is None:
        return None, None
    return requested_size(args)


def requested_loras(args: argparse.Namespace) -> tuple[tuple[str, float], ...]:
    """``generate``'s ``--lora`` options as ``(path, scale)``, read by the one rule."""
    return tuple(lora_from_text(text) for text in args.lora)


def out_path(out: str | None, seed: int) -> Path:
    """The file ``generate`` writes: exactly ``-o`` (checked before anything is sent), or
    ``klein-<seed>.png``.

    Example:
        >>> str(out_path("fox.jpg", 7)), str(out_path(None, 7))
        ('fox.jpg', 'klein-7.png')
    """
    if out is None:
        return Path(f"klein-{seed}.png")
    path = Path(out).expanduser()
    if path.suffix.lower() not in IMAGE_SUFFIXES or out.endswith(("/", "\\")):
        raise InvalidRequestError(
            f"-o {out}: give a file name ending in .png, .jpg or .jpeg (e.g. -o fox.png); "
            "nothing was sent"
        )
    if path.is_dir():
        raise InvalidRequestError(f"-o {out} is a folder: give a file name, e.g. -o fox.png")
    return path
