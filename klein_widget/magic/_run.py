"""What ``%klein`` does once its line is parsed: enhance, make one image or a grid, save.

`make_one` shows a live status line and then the image; `make_grid` runs up to
`MAX_IN_FLIGHT` images of ``-n`` at once, updating the grid as each finishes. Both save
what ``-o`` or ``KleinMagics.out_dir`` ask for and return the value ``%klein`` returns,
marked as shown (`klein_widget.magic._display`). API errors come out as `KleinError`
for the magic to word; a failure here that is the user's to fix is a `UsageError`.

Example (in a notebook):
    >>> %klein a lighthouse in a storm -n 4  # doctest: +SKIP
    4/4 done in 2.10 s · seeds 7 to 10 · 1024×1024 · $0.032
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from IPython import get_ipython
from IPython.core.error import UsageError

from klein_widget._connect import use_pack
from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._exceptions import KleinError
from klein_widget.client._generation import Generation
from klein_widget.client._run import Progress
from klein_widget.client._sync_client import KleinClient
from klein_widget.client.batch._plan import BatchItem
from klein_widget.lessons._compare import CompareResult, compare
from klein_widget.lessons._live import hold_until_cell_ends
from klein_widget.magic._args import MagicArgs
from klein_widget.magic._display import (
    GenerationGrid,
    ShownGeneration,
    StatusLine,
    copy_as,
    display,
    grid_html,
    mark_shown,
)
from klein_widget.ui._grid import GridHTML
from klein_widget.ui._snippets import default_filename
from klein_widget.ui._text import done_text, error_text, price_text, progress_text

__all__ = [
    "enhance_prompt",
    "make_grid",
    "make_labelled_grid",
    "make_one",
    "save_images",
    "use_pack_of",
]


def use_pack_of(args: MagicArgs) -> None:
    """``--pack``: attach the lesson pack (a bad one raises `PackError`, a `KleinError`)."""
    if args.pack:
        use_pack(args.pack)


def enhance_prompt(client: KleinClient, prompt: str) -> str:
    """``--enhance``: the prompt optimizer's rewrite of ``prompt``, shown as a status line."""
    line = StatusLine("Enhancing the prompt…")
    try:
        text = client.enhance_prompt(prompt)
    except BaseException:
        line.update("Enhancing the prompt failed.", force=True)
        raise
    line.update(f"Enhanced prompt: {text}", force=True)
    return text


def make_one(
    client: KleinClient, args: MagicArgs, prompt: str, out_dir: str | None
) -> ShownGeneration:
    """One image: a live status line, then the image, saved if asked for."""
    request = args.request(prompt)
    status = StatusLine("Submitting…")

    def on_progress(progress: Progress) -> None:
        if progress.stage != "done":  # done_text follows, with more to say
            status.update(progress_text(progress), key=progress.stage)

    try:
        generation = client.generate(request, on_progress=on_progress, fresh=args.fresh)
    except KeyboardInterrupt:
        status.update("Interrupted.", force=True)
        raise
    except BaseException:
        status.update("Failed (the error is below).", force=True)
        raise
    shown = copy_as(ShownGeneration, generation)
    done = done_text(generation, base_url=client.base_url)
    status.update(done, force=True)
    display(generation)
    mark_shown(shown)
    saved = save_images([generation], args, out_dir)
    if saved:
        status.update(f"{done} · saved {saved[0]}", force=True)
    return shown


def make_grid(
    client: KleinClient, args: MagicArgs, prompt: str, out_dir: str | None
) -> GenerationGrid:
    """``-n N``: N images, at most `MAX_IN_FLIGHT` at once, shown as a grid that fills in."""
    requests = args.requests(prompt)
    count = len(requests)
    cells: list[Generation | BaseException | None] = [None] * count
    latest: dict[int, Progress] = {}
    started = time.monotonic()
    grid = display(grid_html(cells, prompt), display_id=True)
    status = StatusLine(f"0/{count} done · Submitting…")

    index_of = {request: index for index, request in enumerate(requests)}

    def stepped(progress: Progress) -> None:  # called in this thread by the runner
        latest[index_of.get(progress.request, -1)] = progress
        show_status()

    def arrived(item: BatchItem) -> None:
        cells[item.index] = item.generation if item.generation is not None else item.error
        grid.update(grid_html(cells, prompt))
        show_status()

    def show_status() -> None:
        finished = sum(cell is not None for cell in cells)
        running = [latest[i] for i in sorted(latest) if i >= 0 and cells[i] is None]
        text = f"{finished}/{count} done"
        if running:
            text += " · " + progress_text(running[-1])
        status.update(text, key=str(finished))

    try:
        # The one batch runner: 429s paced, what the gallery has is free, and the grid
        # fills in as images arrive (its callbacks run in this thread).
        client.generate_many(
            requests,
            concurrency=MAX_IN_FLIGHT,
            progress=False,
            fresh=args.fresh,
            on_item=arrived,
            on_progress=stepped,
        )
    except KeyboardInterrupt:
        status.update(
            f"Interrupted after {sum(cell is not None for cell in cells)}/{count}; images "
            "already submitted still finish into klein_widget.session().history.",
            force=True,
        )
        raise

    made = [cell for cell in cells if isinstance(cell, Generation)]
    failures = [cell for cell in cells if isinstance(cell, BaseException)]
    saved = save_images(made, args, out_dir)
    elapsed = time.monotonic() - started
    status.update(_grid_summary(made, count, elapsed, saved, client.base_url), force=True)
    for failure in failures:
        if not isinstance(failure, KleinError):
            raise failure  # a bug, not the API: show its traceback
    if failures:
        raise UsageError(
            f"{len(failures)} of {count} images failed ({len(made)} shown above, also in "
            f"klein_widget.session().history): {error_text(failures[0])}"
        )
    result = GenerationGrid(made, prompt)
    mark_shown(result)
    return result


def make_labelled_grid(client: KleinClient, args: MagicArgs, out_dir: str | None) -> CompareResult:
    """Variants (``{red|blue}``) or a list of seeds (``-s 1,2,3``): `compare`'s labelled grid.

    The cost is printed first, more than 64 new images ask first, images already in the
    gallery are free, and ``-o grid.png`` saves the grid as one labelled PNG.
    """
    result = compare(
        args.prompt,
        seeds=args.grid_seeds(),
        width=args.width,
        height=args.height,
        client=client,
        workers=MAX_IN_FLIGHT,
        fresh=args.fresh,
    )
    if not result._shown_live.is_set():  # outside a kernel: show it now, once
        display(GridHTML(result.grid()))
        shell = get_ipython()
        if shell is not None:
            hold_until_cell_ends(shell, result._shown_live)
    if args.out:
        folder = Path(out_dir).expanduser() if out_dir else None
        target = Path(args.out).expanduser()
        if folder is not None and not target.is_absolute():
            target = folder / target
        try:
            saved = result.save(target)
        except OSError as error:
            raise UsageError(f"The grid was made but could not be saved: {error}.") from None
        print(f"Saved the grid to {saved}")
    return result


def save_images(
    generations: Sequence[Generation], args: MagicArgs, out_dir: str | None
) -> list[Path]:
    """Write the images asked for by ``-o`` (numbered with -n) or ``out_dir``."""
    folder = Path(out_dir).expanduser() if out_dir else None
    targets: list[Path] = []
    if args.out:
        target = Path(args.out).expanduser()
        if folder is not None and not target.is_absolute():
            target = folder / target
        if args.count == 1:
            targets = [target]
        else:
            targets = [
                target.with_name(f"{target.stem}-{index}{target.suffix}")
                for index in range(1, len(generations) + 1)
            ]
    elif folder is not None:
        targets = [folder / Path(default_filename(g.request)).stem for g in generations]
    try:
        return [g.save(path) for g, path in zip(generations, targets, strict=False)]
    except OSError as error:
        raise UsageError(
            f"The image was made (it is in klein_widget.session().history) but could not "
            f"be saved: {error}. Check the -o path or KleinMagics.out_dir."
        ) from None


def _grid_summary(
    made: Sequence[Generation], count: int, elapsed: float, saved: list[Path], base_url: str
) -> str:
    if not made:
        return f"0/{count} done."
    seeds = sorted(g.seed for g in made)
    width, height = made[0].size
    cost = sum(g.cost for g in made)
    text = (
        f"{len(made)}/{count} done in {elapsed:.2f} s · seeds {seeds[0]} to {seeds[-1]} · "
        f"{width}×{height} · {price_text(cost, base_url)}"
    )
    if saved:
        text += f" · saved {saved[0]}" + (f" … {saved[-1].name}" if len(saved) > 1 else "")
    return text
