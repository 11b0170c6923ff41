"""``%klein`` / ``%%klein``: one line makes an image, with the session's shared client.

The line is parsed by `klein_widget.magic._args` (pure) and run by
`klein_widget.magic._run` (a live status line, then the image, or for several images
`compare`'s grid, each shown once); this class holds the ``%config`` defaults and
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

from klein_widget._connect import use_pack
from klein_widget._session import session
from klein_widget.client._exceptions import InvalidRequestError, KleinError
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED
from klein_widget.magic._args import MagicArgs, MagicDefaults, MagicUsageError, parse_line
from klein_widget.magic._display import ShownGeneration, display
from klein_widget.magic._run import make_grid, make_one
from klein_widget.ui._magic_help import MAGIC_HELP
from klein_widget.ui._sizes import check_settings
from klein_widget.ui._text import error_text

__all__ = ["KleinMagics", "ShownGeneration"]


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
        # The docstring (what %klein? shows) is MAGIC_HELP, set below: its options
        # section is generated from their one declaration.
        namespace = ChainMap(local_ns or {}, self.shell.user_ns if self.shell else {})
        try:
            args = parse_line(line, self.defaults(), cell=cell, namespace=namespace)
        except MagicUsageError as error:
            raise UsageError(str(error)) from None
        try:  # a bad pack (PackError) or an API error: a message, no traceback
            if args.pack:
                use_pack(args.pack)
            if args.panel or not args.prompt:
                self._open_panel(args)
                return None
            client = session().client()
            if args.grid:
                return make_grid(client, args, self.out_dir)
            return make_one(client, args, self.out_dir)
        except KleinError as error:
            raise UsageError(error_text(error)) from error

    klein.__doc__ = MAGIC_HELP

    def _open_panel(self, args: MagicArgs) -> None:
        try:
            from klein_widget.widget._widget import panel
        except ImportError as error:  # ipywidgets missing or broken
            raise UsageError(f"The panel is not available here: {error}") from None
        size = (args.width or self.width, args.height or self.height)  # None only for an edit
        display(panel(prompt=args.prompt, width=size[0], height=size[1], seed=args.seed))
