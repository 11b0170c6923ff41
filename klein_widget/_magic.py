"""``%klein`` / ``%%klein``: one line makes an image, with the session's shared client.

The line is parsed by `klein_widget._magic_args` (pure); this class only runs it: a live
status line, the image (or a grid for ``-n``) shown once, the `Generation` returned.
Everything goes through ``klein_widget.session().client()``, so the images land in the
same history and spend as the panel's.

Example (in a notebook):
    >>> %load_ext klein_widget  # doctest: +SKIP
    >>> fox = %klein "a red fox, at dusk" -W 768 -H 512 -s 42  # doctest: +SKIP
    >>> %config KleinMagics.width = 768  # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
import weakref
from collections import ChainMap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from IPython import display as _ipython_display
from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from traitlets import Bool, Int, TraitError, Unicode, validate

from klein_widget._base import Progress
from klein_widget._client import KleinClient
from klein_widget._exceptions import InvalidRequestError, KleinError
from klein_widget._generation import Generation
from klein_widget._grid import GridHTML, render_grid
from klein_widget._magic_args import MagicArgs, MagicDefaults, MagicUsageError, parse_line
from klein_widget._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest
from klein_widget._progress import in_kernel
from klein_widget._session import session
from klein_widget._snippets import default_filename
from klein_widget._status import done_text, error_text, progress_text

__all__ = ["GenerationGrid", "KleinMagics", "ShownGeneration"]

MAX_PARALLEL = 4  # images of one -n grid in flight at once
GRID_COLUMNS = 4
_STATUS_INTERVAL = 0.25  # s between status updates within one stage (keeps output light)


def display(*objects: Any, **options: Any) -> Any:
    """`IPython.display.display`, typed."""
    return _ipython_display.display(*objects, **options)  # type: ignore[no-untyped-call]


# --- shown once -------------------------------------------------------------------------
# %klein shows its image itself (so `fox = %klein ...` shows it too) and returns it. If
# the call is also the cell's last expression, IPython would show the returned value a
# second time; objects %klein has shown are therefore silent until the cell finishes.

# Weak references: a loop of %klein in one cell must not keep every image alive.
_SHOWN: list[weakref.ref[Any]] = []
_SHOWN_LOCK = threading.Lock()


def _mark_shown(value: object) -> None:
    with _SHOWN_LOCK:
        _SHOWN[:] = [ref for ref in _SHOWN if ref() is not None]
        _SHOWN.append(weakref.ref(value))


def _shown_in_this_cell(value: object) -> bool:
    with _SHOWN_LOCK:
        return any(ref() is value for ref in _SHOWN)


def _cell_finished(*_: object) -> None:
    """``post_run_cell`` hook: what %klein showed may be shown again in later cells."""
    with _SHOWN_LOCK:
        _SHOWN.clear()


def _plain(generation: Generation) -> Generation:
    return Generation(
        generation.request,
        generation.prediction,
        generation.image,
        generation.elapsed,
        generation.path,
    )


class ShownGeneration(Generation):
    """The `Generation` ``%klein`` returns: the same image, not shown twice in its cell.

    Example:
        >>> fox = %klein a red fox  # doctest: +SKIP
        >>> fox.seed, fox.save("fox.png")  # doctest: +SKIP
    """

    def _ipython_display_(self) -> None:
        if not _shown_in_this_cell(self):
            display(_plain(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Generation):
            return _plain(self) == _plain(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as Generation's: fields are unhashable


class GenerationGrid(list[Generation]):
    """What ``%klein -n N`` returns: the N generations, displayed as their grid.

    Example:
        >>> foxes = %klein a red fox -n 4  # doctest: +SKIP
        >>> [g.seed for g in foxes]  # doctest: +SKIP
        [7, 8, 9, 10]
    """

    def __init__(self, generations: Iterable[Generation], title: str = "") -> None:
        super().__init__(generations)
        self.title = title

    def _repr_html_(self) -> str:
        return _grid_html(list(self), self.title)

    def _ipython_display_(self) -> None:
        if not _shown_in_this_cell(self):
            display(GridHTML(self._repr_html_()))


def _grid_html(cells: Sequence[Generation | BaseException | None], title: str) -> GridHTML:
    rows = [list(cells[i : i + GRID_COLUMNS]) for i in range(0, len(cells), GRID_COLUMNS)]
    return render_grid(rows, title=title)


# --- output -----------------------------------------------------------------------------


class _StatusLine:
    """One line of text, updated in place (a display handle).

    In a terminal every update prints a new line, so there only a new stage (``key``)
    or a final text is shown, not the ticking seconds.
    """

    def __init__(self, text: str) -> None:
        self._handle: Any = display({"text/plain": text}, raw=True, display_id=True)
        self._text = text
        self._key = ""
        self._at = time.monotonic()
        self._live = in_kernel()

    def update(self, text: str, *, key: str = "", force: bool = False) -> None:
        """Show ``text``; within one ``key`` (stage), at most every `_STATUS_INTERVAL`."""
        now = time.monotonic()
        if text == self._text:
            return
        if not force and key == self._key and (not self._live or now - self._at < _STATUS_INTERVAL):
            return
        self._handle.update({"text/plain": text}, raw=True)
        self._text, self._key, self._at = text, key, now


# --- the magic ----------------------------------------------------------------------------


@magics_class
class KleinMagics(Magics):
    """The ``%klein`` and ``%%klein`` magics; defaults are configurable.

    Example:
        >>> %config KleinMagics.width = 768  # doctest: +SKIP
        >>> %config KleinMagics.seed = 42  # doctest: +SKIP
    """

    width = Int(DEFAULT_SIDE, help="Width in pixels when the line gives none (256 to 1536).").tag(
        config=True
    )
    height = Int(DEFAULT_SIDE, help="Height in pixels when the line gives none (256 to 1536).").tag(
        config=True
    )
    seed = Int(
        RANDOM_SEED,
        help="Seed when the line gives none: -1 draws a new random seed for each image; "
        "any other number makes every %klein use that seed.",
    ).tag(config=True)
    sync = Bool(
        False, help="Use WaveSpeed's sync mode (one request per image) unless --no-sync."
    ).tag(config=True)
    out_dir = Unicode(
        None,
        allow_none=True,
        help="If set, every %klein image is also saved here as klein-<seed>.png, and "
        "relative -o paths are taken from here. The gallery keeps every image anyway.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        if shell is not None and _cell_finished not in shell.events.callbacks["post_run_cell"]:
            shell.events.register("post_run_cell", _cell_finished)

    @validate("width", "height", "seed")
    def _check_default(self, proposal: Any) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        try:  # the same rules as every request
            GenerationRequest("-", **{name: value})
        except InvalidRequestError as error:
            raise TraitError(f"KleinMagics.{name}: {error}") from None
        return value

    def defaults(self) -> MagicDefaults:
        """The configured defaults, as the parser takes them."""
        return MagicDefaults(width=self.width, height=self.height, seed=self.seed, sync=self.sync)

    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def klein(self, line: str, cell: str | None = None, local_ns: Any = None) -> Any:
        """Make an image with FLUX.2 [klein] 4B from a prompt, right here ($0.008 an image).

        Usage:
          %klein PROMPT [options]     one image, shown here and returned as a Generation
          %%klein [options]           the rest of the cell is the prompt
          %klein                      open the panel (also: %klein PROMPT --panel)

        Examples:
          %klein a red fox in snow
          fox = %klein "a fox, at dusk" -W 768 -H 512 -s 42
          fox.save("fox.png"); fox.seed
          %klein a lighthouse in a storm --aspect 16:9 -n 4     four seeds in a grid
          %klein a {animal} in {place} -o {animal}.png        fills in your variables
          %klein a cat --enhance                               the prompt optimizer first

          %%klein --size 768x512 -s 7
          a watercolour of a {animal},
          soft morning light

        Options:
          -W/--width N, -H/--height N
                256 to 1536 pixels (multiples of 16 work best); default 1024.
          --size WxH
                both sides at once, e.g. --size 768x512 (not with -W/-H).
          --aspect W:H
                e.g. 16:9. The longer side is the default's longer side (or give -W or
                -H), the other is rounded down to a multiple of 16: 16:9 -> 1024x576.
          -s/--seed N
                0 to 2147483647 for a repeatable image; -1 or random (the default)
                draws a new seed, reported with the image.
          -n/--count N
                1 to 16 images with consecutive seeds, shown as a grid; returns a list.
          --sync / --no-sync
                WaveSpeed's sync mode: one request that waits for the image.
          --enhance
                rewrite the prompt with WaveSpeed's prompt optimizer first ($0.001) and
                show the new prompt.
          -o/--out FILE
                also save the image, its parameters embedded; with -n: FILE-1.png ...
          --panel
                open the panel with these settings instead of generating.

        Prompts: words split like a shell line. Quote to keep spacing exact; a quote
        right after a letter (fox's, 12") is just a character; -- ends the options.
        Quote a prompt that ends in ? (IPython reads a trailing ? as a help request).
        {name}, {name.attr} and {name[0]} are filled in from your variables (in the
        prompt and in option values); write {{ and }} for literal braces.

        Defaults: %config KleinMagics.width = 768 (also height, seed, sync, out_dir),
        or c.KleinMagics.width = 768 in ipython_config.py.

        Every image goes to klein_widget.session().history (and the gallery), and its
        cost to klein_widget.session().spend, shared with the panel.
        """
        namespace = ChainMap(local_ns or {}, self.shell.user_ns if self.shell else {})
        try:
            args = parse_line(line, self.defaults(), cell=cell, namespace=namespace)
        except MagicUsageError as error:
            raise UsageError(str(error)) from None
        if args.panel or not args.prompt:
            self._open_panel(args)
            return None
        client = session().client()
        try:
            prompt = self._enhance(client, args.prompt) if args.enhance else args.prompt
            if args.count == 1:
                return self._one(client, args, prompt)
            return self._grid(client, args, prompt)
        except KleinError as error:
            raise UsageError(error_text(error)) from error

    # --- the work ------------------------------------------------------------------------

    def _open_panel(self, args: MagicArgs) -> None:
        try:
            from klein_widget._panel import panel
        except ImportError as error:  # ipywidgets missing or broken
            raise UsageError(f"The panel is not available here: {error}") from None
        display(panel(prompt=args.prompt, width=args.width, height=args.height, seed=args.seed))

    def _enhance(self, client: KleinClient, prompt: str) -> str:
        line = _StatusLine("Enhancing the prompt…")
        try:
            text = client.enhance_prompt(prompt)
        except BaseException:
            line.update("Enhancing the prompt failed.", force=True)
            raise
        line.update(f"Enhanced prompt: {text}", force=True)
        return text

    def _one(self, client: KleinClient, args: MagicArgs, prompt: str) -> ShownGeneration:
        request = args.request(prompt)
        status = _StatusLine("Submitting…")

        def on_progress(progress: Progress) -> None:
            if progress.stage != "done":  # done_text follows, with more to say
                status.update(progress_text(progress), key=progress.stage)

        try:
            generation = client.generate(request, on_progress=on_progress)
        except KeyboardInterrupt:
            status.update("Interrupted.", force=True)
            raise
        except BaseException:
            status.update("Failed (the error is below).", force=True)
            raise
        shown = ShownGeneration(
            generation.request,
            generation.prediction,
            generation.image,
            generation.elapsed,
            generation.path,
        )
        status.update(done_text(generation), force=True)
        display(generation)
        _mark_shown(shown)
        saved = self._save([generation], args)
        if saved:
            status.update(f"{done_text(generation)} · saved {saved[0]}", force=True)
        return shown

    def _grid(self, client: KleinClient, args: MagicArgs, prompt: str) -> GenerationGrid:
        requests = args.requests(prompt)
        count = len(requests)
        cells: list[Generation | BaseException | None] = [None] * count
        latest: dict[int, Progress] = {}
        latest_lock = threading.Lock()
        started = time.monotonic()
        grid: Any = display(_grid_html(cells, prompt), display_id=True)
        status = _StatusLine(f"0/{count} done · Submitting…")

        def progress_of(index: int) -> Any:
            def record(progress: Progress) -> None:
                with latest_lock:  # the main thread reads it: it alone writes the output
                    latest[index] = progress

            return record

        pool = concurrent.futures.ThreadPoolExecutor(min(MAX_PARALLEL, count), "klein-magic")
        futures = {
            pool.submit(client.generate, request, on_progress=progress_of(index)): index
            for index, request in enumerate(requests)
        }
        pending = set(futures)
        try:
            while pending:
                done, pending = concurrent.futures.wait(
                    pending, timeout=0.1, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in done:
                    error = future.exception()
                    cells[futures[future]] = error if error is not None else future.result()
                if done:
                    grid.update(_grid_html(cells, prompt))
                finished = count - len(pending)
                with latest_lock:
                    running = [latest[i] for i in sorted(latest) if cells[i] is None]
                text = f"{finished}/{count} done"
                if running:
                    text += " · " + progress_text(running[-1])
                status.update(text, key=str(finished))
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            status.update(
                f"Interrupted after {count - len(pending)}/{count}; images already submitted "
                "still finish into klein_widget.session().history.",
                force=True,
            )
            raise
        pool.shutdown(wait=True)

        made = [cell for cell in cells if isinstance(cell, Generation)]
        failures = [cell for cell in cells if isinstance(cell, BaseException)]
        saved = self._save(made, args)
        status.update(_grid_summary(made, count, time.monotonic() - started, saved), force=True)
        for failure in failures:
            if not isinstance(failure, KleinError):
                raise failure  # a bug, not the API: show its traceback
        if failures:
            raise UsageError(
                f"{len(failures)} of {count} images failed ({len(made)} shown above, also in "
                f"klein_widget.session().history): {error_text(failures[0])}"
            )
        result = GenerationGrid(made, prompt)
        _mark_shown(result)
        return result

    def _save(self, generations: Sequence[Generation], args: MagicArgs) -> list[Path]:
        """Write the images asked for by ``-o`` (numbered with -n) or ``out_dir``."""
        folder = Path(self.out_dir).expanduser() if self.out_dir else None
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


def _grid_summary(made: Sequence[Generation], count: int, elapsed: float, saved: list[Path]) -> str:
    if not made:
        return f"0/{count} done."
    seeds = sorted(g.seed for g in made)
    width, height = made[0].size
    cost = sum(g.cost for g in made)
    text = (
        f"{len(made)}/{count} done in {elapsed:.2f} s · seeds {seeds[0]} to {seeds[-1]} · "
        f"{width}×{height} · ${cost:.3f}"
    )
    if saved:
        text += f" · saved {saved[0]}" + (f" … {saved[-1].name}" if len(saved) > 1 else "")
    return text
