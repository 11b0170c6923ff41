"""What ``%klein`` does once its line is parsed: enhance, make one image or a grid, save.

`make_one` shows a live status line and then the image. Every ``%klein`` of several
images (``-n 4``, ``-s 1,2,3``, ``{red|blue}``) is `make_grid`: one grid engine,
`klein_widget.lessons._compare.compare` (its cost said first, images already in the
gallery free, a failed cell shown in place while the others render), with a live
"2/4 done" status line and the result shown once. Both save what ``-o`` or
``KleinMagics.out_dir`` ask for. API errors come out as `KleinError` for the magic to
word; a failure here that is the user's to fix is a `UsageError`.

Example (in a notebook):
    >>> %klein a lighthouse in a storm -n 4  # doctest: +SKIP
    4/4 done in 2.10 s · seeds 7 to 10 · 1024×1024 · $0.032
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from IPython.core.error import UsageError

from klein_widget._session import session
from klein_widget.client._constants import MAX_IN_FLIGHT
from klein_widget.client._exceptions import KleinError
from klein_widget.client._generation import Generation
from klein_widget.client._run import Progress
from klein_widget.client._sync_client import KleinClient
from klein_widget.client.batch._result import BatchItem
from klein_widget.lessons._compare import CompareResult, compare
from klein_widget.lessons._variant_text import Protected, literal
from klein_widget.lessons._variants import expand_variants
from klein_widget.magic._args import MagicArgs
from klein_widget.magic._display import (
    ShownGeneration,
    StatusLine,
    copy_as,
    show_once,
    with_enhancement,
)
from klein_widget.magic._values import LAST, is_url
from klein_widget.ui._snippets import default_filename
from klein_widget.ui._text import done_text, error_text, progress_text

__all__ = ["edit_images", "enhance_prompt", "make_grid", "make_one", "out_path"]


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


def edit_images(args: MagicArgs) -> list[Generation | Path | str]:
    """An edit's images, as the client takes them: ``last`` is the last image this session
    made, a URL stays a URL, a file is read by the client, and any other word is a gallery
    task id. A word that is none of these is a `UsageError`, before anything is sent."""
    found: list[Generation | Path | str] = []
    for word in args.images:
        if word == LAST:
            history = session().history
            if not history:
                raise UsageError(
                    "--edit last: this session has made no image yet; make one first "
                    "(e.g. %klein a red fox), or give a file, a URL or a gallery task id"
                )
            found.append(history[-1])
        elif is_url(word):
            found.append(word)
        elif Path(word).expanduser().is_file():
            found.append(Path(word).expanduser())
        else:
            found.append(_from_gallery(word))
    return found


def _from_gallery(task_id: str) -> Generation:
    gallery = session().gallery
    try:
        if gallery is None:
            raise LookupError("the gallery is off")
        return gallery.load(task_id)
    except LookupError:
        raise UsageError(
            f"--edit {task_id}: no such file, and no image in the gallery has that task id "
            "(klein_widget.history() lists them); give a file, a URL or last"
        ) from None


def make_one(client: KleinClient, args: MagicArgs, out_dir: str | None) -> ShownGeneration:
    """One image (or an edit): a live status line, then the image, saved if asked for."""
    prompt = enhance_prompt(client, args.prompt) if args.enhance else args.prompt
    status = StatusLine("Submitting…")

    def on_progress(progress: Progress) -> None:
        if progress.stage != "done":  # done_text follows, with more to say
            status.update(progress_text(progress), key=progress.stage)

    try:
        if args.edit:
            generation = client.edit(
                prompt,
                edit_images(args),
                model=args.model,
                width=args.width,
                height=args.height,
                seed=args.seed,
                sync_mode=args.sync,
                on_progress=on_progress,
                fresh=args.fresh,
            )
        else:
            generation = client.generate(
                args.request(prompt), on_progress=on_progress, fresh=args.fresh
            )
    except KeyboardInterrupt:
        status.update("Interrupted.", force=True)
        raise
    except BaseException:
        status.update("Failed (the error is below).", force=True)
        raise
    shown = copy_as(ShownGeneration, generation)
    done = done_text(generation, base_url=client.base_url)
    done = with_enhancement(done, generation.cost, client.base_url, enhanced=args.enhance)
    status.update(done, force=True)
    show_once(shown, shown._shown)  # bounded like the panel's image, hidden if flagged NSFW
    saved = _save([generation], args, out_dir)
    if saved:
        status.update(f"{done} · saved {saved[0]}", force=True)
    return shown


def make_grid(client: KleinClient, args: MagicArgs, out_dir: str | None) -> CompareResult:
    """``-n N``, ``-s 1,2,3`` or variants: `compare`'s grid, at most `MAX_IN_FLIGHT` at once.

    ``-n`` (one prompt, one size) shows as tiles that wrap, four as 2x2; variants and a
    list of seeds as a labelled table. A failed cell keeps the others; the failures are
    one `UsageError` after the grid is shown. ``-o grid.png`` saves a labelled grid as one
    PNG, and ``-n`` images as FILE-1.png, FILE-2.png and so on.
    """
    tiles = not args.variants and not args.seeds
    # A plain prompt (also an enhanced one) is protected: nothing in it expands as a variant.
    template = enhance_prompt(client, args.prompt) if args.enhance else args.prompt
    if not args.variants:
        template = Protected(literal(template))
    seeds = args.grid_seeds()
    total = len(seeds) * len(expand_variants(template).prompts)
    finished: list[BatchItem] = []
    status = StatusLine(f"0/{total} done · Submitting…")

    def stepped(progress: Progress) -> None:  # called in this thread by the runner
        if progress.stage != "done":
            text = f"{len(finished)}/{total} done · {progress_text(progress)}"
            status.update(text, key=str(len(finished)))

    def arrived(item: BatchItem) -> None:
        finished.append(item)
        status.update(f"{len(finished)}/{total} done", key=str(len(finished)))

    try:
        result = compare(
            template,
            seeds=seeds,
            width=args.width,
            height=args.height,
            sync=args.sync,
            models=[args.model],
            loras=args.loras,
            client=client,
            workers=MAX_IN_FLIGHT,
            fresh=args.fresh,
            tiles=tiles,
            on_item=arrived,
            on_progress=stepped,
        )
    except KeyboardInterrupt:
        status.update(
            f"Interrupted after {len(finished)}/{total}; images already submitted still "
            "finish into klein_widget.session().history.",
            force=True,
        )
        raise
    if not result._shown_live.is_set():  # outside a kernel: show it now, once
        show_once(result.grid(), result._shown_live)
    made = result.generations
    saved = _save(made, args, out_dir, grid=None if tiles else result)
    summary = _grid_summary(result, saved)
    status.update(
        with_enhancement(summary, result.cost, client.base_url, enhanced=args.enhance), force=True
    )
    failures = [error for _, _, error in result.errors]
    for failure in failures:
        if not isinstance(failure, KleinError):
            raise failure  # a bug, not the API: show its traceback
    if failures:
        raise UsageError(
            f"{len(failures)} of {total} images failed ({len(made)} shown above, also in "
            f"klein_widget.session().history): {error_text(failures[0])}"
        )
    return result


def out_path(out: str, out_dir: str | None) -> Path:
    """Where ``-o out`` writes: a relative path is taken from ``KleinMagics.out_dir`` if set.

    Example:
        >>> out_path("fox.png", "/tmp/pics"), out_path("/abs/fox.png", "/tmp/pics")
        (PosixPath('/tmp/pics/fox.png'), PosixPath('/abs/fox.png'))
    """
    return Path(out_dir or "").expanduser() / Path(out).expanduser()


def _save(
    made: Sequence[Generation],
    args: MagicArgs,
    out_dir: str | None,
    grid: CompareResult | None = None,
) -> list[Path]:
    """Write what ``-o`` asks for (the image; with -n numbered images; a labelled ``grid``
    as one PNG), or each image into ``out_dir``."""
    targets: list[Path] = []
    if args.out:
        target = out_path(args.out, out_dir)
        if grid is None and args.count > 1:
            targets = [
                target.with_name(f"{target.stem}-{index}{target.suffix}")
                for index in range(1, len(made) + 1)
            ]
        else:
            targets = [target]
    elif out_dir:
        folder = Path(out_dir).expanduser()
        targets = [folder / Path(default_filename(g.request)).stem for g in made]
    try:
        if grid is not None and args.out:
            return [grid.save(targets[0])]
        return [g.save(path) for g, path in zip(made, targets, strict=False)]
    except OSError as error:
        raise UsageError(
            f"The images were made (they are in klein_widget.session().history) but could not "
            f"be saved: {error}. Check the -o path or KleinMagics.out_dir."
        ) from None


def _grid_summary(result: CompareResult, saved: list[Path]) -> str:
    made = result.generations
    if not made:
        return f"0/{len(result)} done."
    seeds = sorted({g.seed for g in made})
    if len(seeds) == 1:
        seed_text = f"seed {seeds[0]}"
    elif seeds == list(range(seeds[0], seeds[-1] + 1)):
        seed_text = f"seeds {seeds[0]} to {seeds[-1]}"
    else:
        seed_text = "seeds " + ", ".join(map(str, seeds))
    width, height = made[0].size
    text = (
        f"{len(made)}/{len(result)} done in {result.elapsed:.2f} s · {seed_text} · "
        f"{width}×{height} · {result.cost_text}"
    )
    if saved:
        text += f" · saved {saved[0]}" + (f" … {saved[-1].name}" if len(saved) > 1 else "")
    return text
