"""``klein pack make`` and ``klein pack show``: make a lesson pack, and list one.

Example:
    $ klein pack make lesson-02.ipynb -o lesson-02.zip
    lesson-02.zip: 24 images (klein-widget lesson pack, version 1)
    $ klein pack show lesson-02.zip
    lesson-02.zip: 24 images, every one checked (klein-widget lesson pack, version 1)
      768x512   seed 42         real     -    a red fox in the snow
      ...
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from klein_widget.store._make_pack import make_pack
from klein_widget.store._pack import PACK_FORMAT, PACK_VERSION, open_pack

__all__ = ["add_pack_parser", "pack"]

_ABOUT = (
    "A lesson pack is a .zip (or folder) of images with their parameters and a manifest.\n"
    "Attached (klein_widget.use_pack, %klein --pack, $KLEIN_PACKS, klein emulator --pack),\n"
    "it answers the requests it holds (same prompt, size and seed) free, with no key."
)


def add_pack_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pack make`` and ``pack show`` to the ``klein`` parser's commands."""
    pack_parser = commands.add_parser(
        "pack",
        help="make or list a lesson pack (real images for students with no key)",
        description=_ABOUT,
    )
    actions = pack_parser.add_subparsers(dest="pack_command", required=True, metavar="ACTION")
    make = actions.add_parser(
        "make",
        help="make a pack from a run notebook's images or a gallery folder",
        description="Make a lesson pack from the images a run (and saved) notebook shows, "
        "or from every image of a gallery folder.\n\n" + _ABOUT,
    )
    make.add_argument("source", metavar="NOTEBOOK_OR_GALLERY", help="a .ipynb or a folder")
    make.add_argument(
        "-o", "--out", required=True, metavar="PACK", help="the pack to write: x.zip (or a folder)"
    )
    make.add_argument(
        "--gallery",
        default=None,
        metavar="FOLDER",
        help="where a notebook's images are (default: $KLEIN_GALLERY, else klein-outputs "
        "beside the notebook)",
    )
    show = actions.add_parser(
        "show",
        help="list a pack's images (and check every one)",
        description="List a lesson pack's images, after checking every one.\n\n" + _ABOUT,
    )
    show.add_argument("pack", metavar="PACK", help="a .zip or folder")


def _title(name: str, count: int, extra: str = "") -> str:
    return f"{name}: {count} images{extra} ({PACK_FORMAT}, version {PACK_VERSION})"


def _line(image: dict[str, Any]) -> str:
    size = f"{image['width']}x{image['height']}"
    # A line from before provenance was recorded is not known to be real: "unknown".
    known = image["service"] and not image["service"].startswith("unknown")
    made = "real" if not image["simulated"] else "stand-in" if known else "unknown"
    flag = "NSFW" if image["nsfw"] else "-"
    # Control characters as escapes keep one image on one line (a %%klein prompt may hold
    # newlines); every other character shows as it is.
    prompt = "".join(c if c.isprintable() else repr(c)[1:-1] for c in image["prompt"])
    return f"  {size:<10}seed {image['seed']:<11}{made:<9}{flag:<5}{prompt}"


def pack(args: argparse.Namespace) -> int:
    """``klein pack make|show``; a bad pack raises `PackError` (a `KleinError`)."""
    if args.pack_command == "make":
        manifest = make_pack(args.source, args.out, gallery=args.gallery)
        print(_title(args.out, len(manifest["images"])))
        return 0
    opened = open_pack(args.pack, verify=True)
    stand_ins = sum(entry.simulated for entry in opened.entries)
    extra = f", {stand_ins} of them emulator stand-ins (or unknown)" if stand_ins else ""
    print(_title(opened.name, len(opened), ", every one checked" + extra))
    for entry in sorted(opened.entries, key=lambda e: e.order):
        print(_line(entry.to_json()))
    sys.stdout.flush()
    return 0
