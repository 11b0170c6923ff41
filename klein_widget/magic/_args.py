"""Parse a ``%klein`` / ``%%klein`` line into a typed `MagicArgs`: a short pipeline, pure.

The magic's name and a JSON prompt come off first, then the words are split and the
options sorted out (`klein_widget.magic._words`; the parser is built from the options'
one declaration, `klein_widget.ui._magic_options`), ``{name}`` fields are filled in
(`klein_widget.magic._expand`), and the values are read here and checked by
`GenerationRequest`, the one place those rules live. Any mistake is a `MagicUsageError`
that says what is allowed; nothing is sent. The rules of the line, as users read them,
are ``%klein?`` (`klein_widget.ui._magic_options.MAGIC_HELP`). `format_magic` writes
the line back (the panel's snippet).

Example:
    >>> args = parse_line('"a red fox, at dusk" -W 768 -H 512 -s 42')
    >>> args.prompt, args.width, args.height, args.seed
    ('a red fox, at dusk', 768, 512, 42)
    >>> format_magic(args.request())
    '%klein "a red fox, at dusk" -W 768 -H 512 -s 42'
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import (
    DEFAULT_SIDE,
    MAX_SEED,
    MAX_SIDE,
    MIN_SIDE,
    RANDOM_SEED,
    GenerationRequest,
    parse_size,
)
from klein_widget.lessons._variant_text import has_variants
from klein_widget.lessons._variants import expand_variants
from klein_widget.magic._expand import expand, restore
from klein_widget.magic._words import Word, json_head, prompt_text, split_words, strip_magic_name
from klein_widget.ui._magic_options import (
    EXAMPLE,
    MAX_COUNT,
    MagicUsageError,
    parse_options,
)
from klein_widget.ui._sizes import size_for_aspect
from klein_widget.ui._snippets import format_magic

__all__ = ["MagicArgs", "MagicDefaults", "MagicUsageError", "format_magic", "parse_line"]

Fill = Callable[[str | None], str | None]  # fills in {name} fields; None (not given) stays


@dataclass(frozen=True)
class MagicDefaults:
    """What ``%klein`` uses for options the line leaves out (``%config KleinMagics.*``)."""

    width: int = DEFAULT_SIDE
    height: int = DEFAULT_SIDE
    seed: int = RANDOM_SEED
    sync: bool = False


@dataclass(frozen=True)
class MagicArgs:
    """One parsed ``%klein``: what to make and what to do with it.

    ``prompt`` is empty only when none was given (then ``%klein`` opens the panel).

    Example:
        >>> parse_line("a fox -n 3 -s 10").requests()[-1].seed
        12
    """

    prompt: str
    width: int = DEFAULT_SIDE
    height: int = DEFAULT_SIDE
    seed: int = RANDOM_SEED
    count: int = 1
    sync: bool = False
    enhance: bool = False
    out: str | None = None
    panel: bool = False
    fresh: bool = False
    pack: str | None = None  # a lesson pack to attach first
    seeds: tuple[int, ...] = ()  # -s 1,2,3: a labelled grid, one column per seed
    variants: bool = False  # the prompt is a template (kept protected: see _expand)

    @property
    def grid(self) -> bool:
        """True when this line makes a grid (``-n``, variants or a list of seeds)."""
        return self.count > 1 or self.variants or len(self.seeds) > 1

    def grid_seeds(self, rng: random.Random | None = None) -> tuple[int, ...]:
        """The seeds of the images: the ``-s`` list, or ``count`` consecutive from ``-s``.

        The one place a random first seed is drawn (for a grid or variants), so the
        seeds of a grid are consecutive and known, and every variant shares them: the
        grid shows what the words do, not what chance does. A single image keeps -1
        (the client draws it).
        """
        if self.seeds:
            return self.seeds
        first = self.seed
        if first == RANDOM_SEED and (self.count > 1 or self.variants):
            first = (rng or random.SystemRandom()).randint(0, MAX_SEED - self.count + 1)
        return tuple(first + i for i in range(self.count))

    def request(self, prompt: str | None = None) -> GenerationRequest:
        """The first (or only) image's request; ``prompt`` replaces the prompt (--enhance)."""
        return self.requests(prompt)[0]

    def requests(
        self, prompt: str | None = None, rng: random.Random | None = None
    ) -> tuple[GenerationRequest, ...]:
        """One request per image, seeds as `grid_seeds` gives them."""
        text = self.prompt if prompt is None else prompt
        return tuple(
            GenerationRequest(text, self.width, self.height, seed, self.sync)
            for seed in self.grid_seeds(rng)
        )


# --- the line -----------------------------------------------------------------------------


def parse_line(
    line: str,
    defaults: MagicDefaults | None = None,
    *,
    cell: str | None = None,
    namespace: Mapping[str, Any] | None = None,
) -> MagicArgs:
    """Parse a ``%klein`` line (and the ``%%klein`` cell body, if any) into `MagicArgs`.

    ``{name}`` fields in the prompt and option values are filled in from ``namespace``
    (none by default). Raises `MagicUsageError`, naming what is allowed, for any mistake.

    Example:
        >>> args = parse_line("a {animal} --aspect 16:9 -s 7", namespace={"animal": "fox"})
        >>> args.prompt, args.width, args.height, args.seed
        ('a fox', 1024, 576, 7)
    """
    defaults = defaults or MagicDefaults()
    names: Mapping[str, Any] = namespace if namespace is not None else {}
    line, cell = strip_magic_name(line, cell)
    head, line = json_head(line) if cell is None else ("", line)
    options = parse_options(split_words(line))
    typed = head or prompt_text(line, options.words)
    if head and options.words:
        raise MagicUsageError(
            f"after a JSON prompt only options may follow, not {' '.join(options.words)!r}: "
            "put every word inside the JSON"
        )
    for name, value in vars(options).items():  # option values as plain text from here on
        if isinstance(value, Word):
            setattr(options, name, str(value))

    def fill(text: str | None) -> str | None:
        return None if text is None else expand(text, names)

    # The prompt: words on the line, or the cell body; never both.
    if cell is not None and options.words:
        raise MagicUsageError(
            "%%klein takes the prompt from the cell body: put the words "
            f"{' '.join(options.words)!r} in the cell, and only options on the first line"
        )
    given = cell is not None or bool(options.words) or bool(head)
    template = expand(cell if cell is not None else typed, names, variants=True)
    variants = has_variants(template)
    prompt = restore(template)
    if given and not prompt.strip():
        raise MagicUsageError(
            "the prompt is empty: describe the image, e.g. "
            + EXAMPLE
            + " (or run %klein alone to open the panel)"
        )

    width, height = read_size(options, defaults, fill)
    seed_text = fill(options.seed)
    seeds = _seed_list(seed_text) if seed_text is not None and "," in seed_text else ()
    seed: Any = defaults.seed if seed_text is None else seeds[0] if seeds else read_seed(seed_text)
    count = read_count(fill(options.count))
    if seeds and count > 1:
        raise MagicUsageError(
            "-n with a list of seeds: give -s 1,2,3 (those seeds) or -s 1 -n 3 (three from 1)"
        )
    sync = defaults.sync if options.sync is None else bool(options.sync)
    out = fill(options.out)

    if not prompt.strip() or options.panel:
        extras = [
            flag
            for flag, used in (
                ("-n", options.count is not None),
                ("-o", options.out is not None),
                ("--enhance", options.enhance),
                ("--sync", options.sync is not None),
                ("--fresh", options.fresh),
                ("-s with a list", bool(seeds)),
            )
            if used
        ]
        if extras:
            raise MagicUsageError(
                f"{' and '.join(extras)} only work when %klein makes images itself: give a "
                f"prompt (e.g. {EXAMPLE} -n 4) and leave out --panel"
            )

    try:
        # Without a prompt (the panel) the sizes and seed are still checked, by the same rules.
        request = GenerationRequest(prompt if prompt.strip() else "-", width, height, seed, sync)
        checked = [GenerationRequest(request.prompt, width, height, s) for s in seeds]
        if variants and given:
            expand_variants(template)  # bad variant syntax: said now, nothing sent
    except InvalidRequestError as error:
        raise MagicUsageError(str(error)) from None
    if (variants or seeds) and options.enhance:
        raise MagicUsageError(
            "--enhance rewrites one prompt: use it without {a|b} variants or a list of seeds"
        )
    if count > 1 and request.seed != RANDOM_SEED and request.seed + count - 1 > MAX_SEED:
        raise MagicUsageError(
            f"-n {count} uses the seeds {request.seed} to {request.seed + count - 1}, but "
            f"seeds go up to {MAX_SEED}: start at {MAX_SEED - count + 1} or lower"
        )
    variant_grid = variants and given
    text = template.strip() if variant_grid else request.prompt if prompt.strip() else ""
    return MagicArgs(
        prompt=text,
        width=request.width,
        height=request.height,
        seed=request.seed,
        count=count,
        sync=request.sync_mode,
        enhance=bool(options.enhance),
        out=out,
        panel=bool(options.panel),
        fresh=bool(options.fresh),
        pack=fill(options.pack),
        seeds=tuple(r.seed for r in checked),
        variants=variant_grid,
    )


def _seed_list(text: str) -> tuple[Any, ...]:
    """``-s 1,2,3``: each seed as `read_seed` reads one (bad ones are refused later)."""
    return tuple(read_seed(part) for part in text.split(",") if part.strip())


# --- option text into values --------------------------------------------------------------


def _integer(text: str) -> int | str:
    """An int if ``text`` is one; otherwise the text, for `GenerationRequest` to refuse."""
    try:
        return int(text)
    except ValueError:
        return text


def read_size(options: argparse.Namespace, defaults: MagicDefaults, fill: Fill) -> tuple[int, int]:
    """Width and height from -W, -H, --size and --aspect (``fill`` fills in ``{name}``).

    A side that is not a whole number comes back as its text, for `GenerationRequest`
    to refuse in its own words.
    """
    width_text, height_text = fill(options.width), fill(options.height)
    size_text, aspect_text = fill(options.size), fill(options.aspect)
    if size_text is not None:
        if width_text is not None or height_text is not None:
            raise MagicUsageError(
                "--size sets both sides: use either --size 768x512 or -W 768 -H 512, not both"
            )
        if aspect_text is not None:
            raise MagicUsageError(
                "--size and --aspect both set the shape: use one (e.g. --aspect 16:9)"
            )
        try:
            return parse_size(size_text)
        except InvalidRequestError as error:
            raise MagicUsageError(
                f"--size must look like 768x512 (width x height, each {MIN_SIDE} to {MAX_SIDE}), "
                f"not {size_text!r}"
            ) from error
    width: Any = defaults.width if width_text is None else _integer(width_text)
    height: Any = defaults.height if height_text is None else _integer(height_text)
    if aspect_text is None:
        return width, height
    if width_text is not None and height_text is not None:
        raise MagicUsageError(
            "--aspect with both -W and -H: give one side (e.g. -W 768 --aspect 16:9) or neither"
        )
    try:
        return size_for_aspect(
            aspect_text,
            max(defaults.width, defaults.height),
            width=width if width_text is not None else None,
            height=height if height_text is not None else None,
            label="--aspect",
        )
    except InvalidRequestError as error:
        raise MagicUsageError(str(error)) from None


def read_seed(text: str) -> int | str:
    """The seed for ``-s``: ``random`` is -1; not a whole number, the text (to be refused)."""
    return RANDOM_SEED if text.strip().lower() == "random" else _integer(text)


def read_count(text: str | None) -> int:
    """The image count for ``-n`` (1 if not given), from 1 to `MAX_COUNT`."""
    if text is None:
        return 1
    count = _integer(text)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise MagicUsageError(
            f"-n/--count must be a whole number from 1 to {MAX_COUNT}, not {text!r}"
        )
    return count
