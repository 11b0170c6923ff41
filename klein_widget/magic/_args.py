"""Parse a ``%klein`` / ``%%klein`` line into a typed `MagicArgs`: a short pipeline, pure.

The magic's name and a JSON prompt come off first, then the words are split
(`klein_widget.magic._line`) and the options sorted out (a parser built from the options'
one declaration, `klein_widget.ui._magic_options`), ``{name}`` fields are filled in
(`klein_widget.magic._line.expand`), and the values are read here and checked by
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
from collections.abc import Mapping
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
from klein_widget.magic._line import (
    expand,
    json_head,
    prompt_text,
    restore,
    split_words,
    strip_magic_name,
)
from klein_widget.ui._magic_options import (
    EXAMPLE,
    MAGIC_OPTIONS,
    MAX_COUNT,
    MagicOption,
    MagicUsageError,
    parse_options,
)
from klein_widget.ui._sizes import size_for_aspect
from klein_widget.ui._snippets import format_magic

__all__ = ["MagicArgs", "MagicDefaults", "MagicUsageError", "format_magic", "parse_line"]


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
    # 1. The text: the magic's name off, a JSON prompt as written, words and options apart.
    line, cell = strip_magic_name(line, cell)
    head, line = json_head(line) if cell is None else ("", line)
    options = parse_options(split_words(line))
    words: list[str] = options.words
    if head and words:
        raise MagicUsageError(
            f"after a JSON prompt only options may follow, not {' '.join(words)!r}: "
            "put every word inside the JSON"
        )
    if cell is not None and words:
        raise MagicUsageError(
            "%%klein takes the prompt from the cell body: put the words "
            f"{' '.join(words)!r} in the cell, and only options on the first line"
        )
    # 2. {name} filled in: option values as plain text, the prompt as a variant template.
    text = {
        o.name: expand(str(getattr(options, o.name)), names)
        for o in MAGIC_OPTIONS
        if o.value and getattr(options, o.name) is not None
    }
    given = cell is not None or bool(words) or bool(head)
    typed = cell if cell is not None else head or prompt_text(line, words)
    template = expand(typed, names, variants=True)
    prompt = restore(template)
    if given and not prompt.strip():
        raise MagicUsageError(
            f"the prompt is empty: describe the image, e.g. {EXAMPLE} "
            "(or run %klein alone to open the panel)"
        )
    # 3. The values, checked by the rules every request follows.
    width, height = _size(text, defaults)
    seed_text = text.get("seed")
    listed = seed_text.split(",") if seed_text is not None and "," in seed_text else []
    seeds: tuple[Any, ...] = tuple(_seed(part) for part in listed if part.strip())
    seed: Any = defaults.seed if seed_text is None else seeds[0] if seeds else _seed(seed_text)
    count = _count(text.get("count"))
    if seeds and count > 1:
        raise MagicUsageError(
            "-n with a list of seeds: give -s 1,2,3 (those seeds) or -s 1 -n 3 (three from 1)"
        )
    if not prompt.strip() or options.panel:
        extras = [o.flag for o in MAGIC_OPTIONS if o.needs_prompt and _given(o, options)]
        extras += ["-s with a list"] if seeds else []
        if extras:
            raise MagicUsageError(
                f"{' and '.join(extras)} only work when %klein makes images itself: give a "
                f"prompt (e.g. {EXAMPLE} -n 4) and leave out --panel"
            )
    sync = defaults.sync if options.sync is None else options.sync
    variants = given and has_variants(template)
    try:
        # Without a prompt (the panel) the sizes and seed are still checked, by the same rules.
        request = GenerationRequest(prompt if prompt.strip() else "-", width, height, seed, sync)
        checked = tuple(GenerationRequest("-", width, height, s).seed for s in seeds)
        if variants:
            expand_variants(template)  # bad variant syntax: said now, nothing sent
    except InvalidRequestError as error:
        raise MagicUsageError(str(error)) from None
    if (variants or seeds) and options.enhance:
        raise MagicUsageError(
            "--enhance rewrites one prompt: use it without {a|b} variants or a list of seeds"
        )
    if count > 1 and seed != RANDOM_SEED and request.seed + count - 1 > MAX_SEED:
        raise MagicUsageError(
            f"-n {count} uses the seeds {request.seed} to {request.seed + count - 1}, but "
            f"seeds go up to {MAX_SEED}: start at {MAX_SEED - count + 1} or lower"
        )
    return MagicArgs(
        prompt=template.strip() if variants else request.prompt if prompt.strip() else "",
        width=width,
        height=height,
        seed=request.seed,
        count=count,
        sync=request.sync_mode,
        enhance=bool(options.enhance),
        out=text.get("out"),
        panel=bool(options.panel),
        fresh=bool(options.fresh),
        pack=text.get("pack"),
        seeds=checked,
        variants=variants,
    )


# --- option text into values --------------------------------------------------------------


def _given(option: MagicOption, options: argparse.Namespace) -> bool:
    value = getattr(options, option.name)
    return bool(value) if option.switch and not option.negatable else value is not None


def _integer(text: str) -> int | str:
    """An int if ``text`` is one; otherwise the text, for `GenerationRequest` to refuse."""
    try:
        return int(text)
    except ValueError:
        return text


def _seed(text: str) -> int | str:
    """One seed of ``-s``: ``random`` is -1; not a whole number, the text (to be refused)."""
    return RANDOM_SEED if text.strip().lower() == "random" else _integer(text)


def _count(text: str | None) -> int:
    """The image count for ``-n`` (1 if not given), from 1 to `MAX_COUNT`."""
    count = 1 if text is None else _integer(text)
    if not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise MagicUsageError(
            f"-n/--count must be a whole number from 1 to {MAX_COUNT}, not {text!r}"
        )
    return count


def _size(text: Mapping[str, str], defaults: MagicDefaults) -> tuple[int, int]:
    """Width and height from -W, -H, --size and --aspect (their text, filled in).

    A side that is not a whole number comes back as its text, for `GenerationRequest`
    to refuse in its own words.
    """
    width_text, height_text = text.get("width"), text.get("height")
    size_text, aspect_text = text.get("size"), text.get("aspect")
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
