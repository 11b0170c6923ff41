"""What ``klein generate``, ``klein edit`` and ``klein enhance`` do, and how they show progress.

Progress goes to stderr: on a terminal one line is updated in place; piped or logged,
each stage is printed once. stdout holds only the result (the saved path, the new prompt),
so ``klein generate ... -q`` and ``$(klein enhance ...)`` compose.

Example:
    $ klein generate "a red fox" --seed 42 -o fox.png
    Submitting…
    Generating… 0.1 s
    Downloading… 0.7 s
    Done in 0.71 s (inference 0.60 s) · seed 42 · 1024×1024 · $0.008
    also kept in the gallery: /home/me/.local/share/klein-widget/gallery/2025-01-01/….png
    fox.png
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from klein_widget.cli._parser import edit_size, out_path, requested_loras, requested_size
from klein_widget.client._generation import Generation
from klein_widget.client._run import Progress
from klein_widget.client._sync_client import KleinClient
from klein_widget.store._resume import gallery_of, resume_tasks
from klein_widget.ui._text import done_text, progress_text

__all__ = ["ImageNotWritten", "ProgressPrinter", "edit", "enhance", "generate"]


class ImageNotWritten(Exception):
    """The image was made (and paid for) but the ``-o`` file could not be written."""


class ProgressPrinter:
    """An ``on_progress`` callback for a terminal or a log.

    ``live`` (default: the stream is a terminal) rewrites one line with ``\\r``; otherwise
    each stage is printed once, however often the client reports it.
    """

    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._shown: set[str] = set()
        self._width = 0  # of the live line, to blank what a shorter text leaves

    def __call__(self, progress: Progress) -> None:
        if progress.stage == "done":  # the done line follows, with more to say
            return
        text = progress_text(progress)
        if self.live:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
            self.stream.flush()
        elif progress.stage not in self._shown:
            self._shown.add(progress.stage)
            print(text, file=self.stream, flush=True)

    def finish(self) -> None:
        """Blank the live line, so what follows starts on a clean line."""
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
            self.stream.flush()


def generate(args: argparse.Namespace) -> int:
    """``klein generate``: make one image, write exactly the ``-o`` file, print its path."""
    width, height = requested_size(args)
    loras = requested_loras(args) or None  # a bad --lora is refused before anything is sent
    return _make_and_save(
        args,
        lambda client, common: client.generate(
            args.prompt, width=width, height=height, loras=loras, **common
        ),
    )


def edit(args: argparse.Namespace) -> int:
    """``klein edit IMAGE... PROMPT``: edit 1-4 images (files are uploaded first), write
    exactly the ``-o`` file, print its path."""
    width, height = edit_size(args)
    return _make_and_save(
        args,
        lambda client, common: client.edit(
            args.prompt, args.images, width=width, height=height, **common
        ),
    )


def _make_and_save(
    args: argparse.Namespace, make: Callable[[KleinClient, dict[str, Any]], Generation]
) -> int:
    """Make the image with ``make``, given the client and the keyword arguments ``generate``
    and ``edit`` share (progress on stderr unless ``-q``); write the ``-o`` file (checked
    before anything is sent); print its path."""
    if args.out is not None:
        out_path(args.out, 0)  # a bad -o is refused before anything is paid for
    show = ProgressPrinter(sys.stderr)
    common: dict[str, Any] = {
        "seed": args.seed,
        "model": args.model,
        "sync_mode": args.sync,
        "base64_output": args.base64,
        "timeout": args.timeout,
        "on_progress": None if args.quiet else show,
        "fresh": args.fresh,
    }
    with KleinClient() as client:
        try:
            generation = make(client, common)
        finally:
            show.finish()
        base_url = client.base_url
    target = out_path(args.out, generation.seed)
    kept = (
        f"it is kept in the gallery: {generation.path}"
        if generation.path
        else "the gallery is off, so there is no other copy"
    )
    try:
        path = generation.save(target)
    except OSError as error:
        raise ImageNotWritten(
            f"The image was made (task {generation.task_id}) but {target} could not be "
            f"written ({error.strerror or error}); {kept}."
        ) from None
    if not args.quiet:
        print(done_text(generation, base_url=base_url), file=sys.stderr)
        if generation.path is not None:
            print(f"also kept in the gallery: {generation.path}", file=sys.stderr)
    print(path)
    return 0


def resume(args: argparse.Namespace) -> int:
    """``klein resume``: fetch the gallery's paid tasks whose image never arrived."""
    with KleinClient() as client:
        report = resume_tasks(client, gallery_of(client), timeout=args.timeout)
    for generation in report.generations:
        print(generation.path or generation.task_id)
    print(
        f"{len(report.generations)} fetched, {len(report.failed)} failed on the server, "
        f"{len(report.retry_later)} not ready yet (run klein resume again later), "
        f"{report.other_servers} from another server"
        + (
            f", {report.stand_ins} emulator stand-in tasks not asked of this real service"
            if report.stand_ins
            else ""
        ),
        file=sys.stderr,
    )
    return 0


def enhance(args: argparse.Namespace) -> int:
    """``klein enhance``: print the prompt optimizer's rewrite of the prompt."""
    with KleinClient() as client:
        print(client.enhance_prompt(args.prompt))
    return 0
