"""``%klein`` / ``%%klein``: one line makes an image, with the session's shared client.

The line is parsed by `klein_widget.magic._args` (pure) and run by
`klein_widget.magic._run` (a live status line, the image or a grid for ``-n``, shown
once by `klein_widget.magic._display`); this class holds the ``%config`` defaults and
turns mistakes into `UsageError` (a message, no traceback). Everything goes through
``klein_widget.session().client()``, so the images land in the same history and spend
as the panel's.

Example (in a notebook):
    >>> %load_ext klein_widget  # doctest: +SKIP
    >>> fox = %klein "a red fox, at dusk" -W 768 -H 512 -s 42  # doctest: +SKIP
    >>> %config KleinMagics.width = 768  # doctest: +SKIP
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from traitlets import Bool, Int, TraitError, Unicode, validate

from klein_widget._session import session
from klein_widget.client._exceptions import InvalidRequestError, KleinError
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED
from klein_widget.magic._args import MagicArgs, MagicDefaults, MagicUsageError, parse_line
from klein_widget.magic._display import GenerationGrid, ShownGeneration, cell_finished, display
from klein_widget.magic._run import enhance_prompt, make_grid, make_one
from klein_widget.ui._sizes import check_settings
from klein_widget.ui._text import error_text

__all__ = ["GenerationGrid", "KleinMagics", "ShownGeneration"]


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
        if shell is not None and cell_finished not in shell.events.callbacks["post_run_cell"]:
            shell.events.register("post_run_cell", cell_finished)

    @validate("width", "height", "seed")
    def _check_default(self, proposal: Any) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        try:  # the same rules as every request
            check_settings(**{name: value})
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
                -H), the other is the multiple of 16 that keeps the ratio closest:
                16:9 -> 1024x576, 3:2 -> 1024x688.
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
            prompt = enhance_prompt(client, args.prompt) if args.enhance else args.prompt
            if args.count == 1:
                return make_one(client, args, prompt, self.out_dir)
            return make_grid(client, args, prompt, self.out_dir)
        except KleinError as error:
            raise UsageError(error_text(error)) from error

    def _open_panel(self, args: MagicArgs) -> None:
        try:
            from klein_widget.widget._widget import panel
        except ImportError as error:  # ipywidgets missing or broken
            raise UsageError(f"The panel is not available here: {error}") from None
        display(panel(prompt=args.prompt, width=args.width, height=args.height, seed=args.seed))
