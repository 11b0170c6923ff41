"""Parse a ``%klein`` / ``%%klein`` line into a typed `MagicArgs`: a short pipeline, pure.

The magic's name and a JSON prompt come off first, then the words are split
(`klein_widget.magic._line`) and the options sorted out (a parser built from the options'
one declaration, `klein_widget.ui._magic_options`), ``{name}`` fields are filled in
(`klein_widget.magic._fields`), and the values are read (`klein_widget.magic._values`)
and checked by `GenerationRequest`, the one place those rules live. Any mistake is a
`MagicUsageError` that says what is allowed; nothing is sent. The rules of the line, as
users read them, are ``%klein?`` (`klein_widget.ui._magic_help.MAGIC_HELP`).
`format_magic` writes the line back (the panel's snippet).

Example:
    >>> args = parse_line('"a red fox, at dusk" -W 768 -H 512 -s 42')
    >>> args.prompt, args.width, args.height, args.seed
    ('a red fox, at dusk', 768, 512, 42)
    >>> format_magic(args.request())
    '%klein "a red fox, at dusk" -W 768 -H 512 -s 42'
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import DEFAULT_MODEL
from klein_widget.client._models import DEFAULT_SIDE, MAX_SEED, RANDOM_SEED, GenerationRequest
from klein_widget.lessons._variant_text import Protected, has_variants, restore
from klein_widget.lessons._variants import expand_variants
from klein_widget.magic._fields import expand, expand_prompt
from klein_widget.magic._line import Word, json_head, prompt_text, split_words, strip_magic_name
from klein_widget.magic._values import (
    count_value,
    given,
    image_values,
    lora_values,
    model_value,
    seed_value,
    size_value,
)
from klein_widget.ui._magic_line import format_magic
from klein_widget.ui._magic_options import EXAMPLE, MAGIC_OPTIONS, MagicUsageError, parse_options

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
        >>> parse_line("a fox -n 3 -s 10").grid_seeds()
        (10, 11, 12)
    """

    prompt: str
    width: int | None = DEFAULT_SIDE  # None: an edit keeps its first image's size
    height: int | None = DEFAULT_SIDE
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
    model: str = DEFAULT_MODEL.name  # the family's short name, as resolve_model gives it
    images: tuple[str, ...] = ()  # an edit's images as given: --edit's first, then --ref's
    loras: tuple[tuple[str, float], ...] = ()  # --lora: (URL or owner/repo, scale)

    @property
    def edit(self) -> bool:
        """True when this line edits images (``--edit`` or ``--ref``)."""
        return bool(self.images)

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
        """The first (or only) image's request, at the first of `grid_seeds`; ``prompt``
        replaces the prompt (--enhance). Not for an edit: its images are uploaded first,
        and the client builds its request."""
        if self.edit or self.width is None or self.height is None:
            raise ValueError("an edit's request is made by client.edit, from its images")
        text = self.prompt if prompt is None else prompt
        seed = self.grid_seeds()[0]
        return GenerationRequest(
            text, self.width, self.height, seed, self.sync, model=self.model, loras=self.loras
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
    words: list[Word] = options.words  # the Words split_words made, in order
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
        if o.value and not o.repeat and getattr(options, o.name) is not None
    }
    lists = {
        o.name: [expand(value, names) for value in getattr(options, o.name) or ()]
        for o in MAGIC_OPTIONS
        if o.repeat
    }
    has_prompt = cell is not None or bool(words) or bool(head)
    typed = cell if cell is not None else head or prompt_text(line, words)
    template = expand_prompt(typed, names)
    prompt = restore(template)
    if has_prompt and not prompt.strip():
        raise MagicUsageError(
            f"the prompt is empty: describe the image, e.g. {EXAMPLE} "
            "(or run %klein alone to open the panel)"
        )
    # 3. The values, checked by the rules every request follows.
    images = image_values(text.get("edit"), lists["ref"])
    sized = any(name in text for name in ("width", "height", "size", "aspect"))
    width, height = size_value(text, (defaults.width, defaults.height))
    seed_text = text.get("seed")
    listed = seed_text.split(",") if seed_text is not None and "," in seed_text else []
    seeds: tuple[Any, ...] = tuple(seed_value(part) for part in listed if part.strip())
    seed: Any = defaults.seed if seed_text is None else seeds[0] if seeds else seed_value(seed_text)
    count = count_value(text.get("count"))
    if seeds and count > 1:
        raise MagicUsageError(
            "-n with a list of seeds: give -s 1,2,3 (those seeds) or -s 1 -n 3 (three from 1)"
        )
    if not prompt.strip() or options.panel:
        extras = [o.flag for o in MAGIC_OPTIONS if o.needs_prompt and given(o, options)]
        extras += ["-s with a list"] if seeds else []
        if extras:
            raise MagicUsageError(
                f"{' and '.join(extras)} only work when %klein makes images itself: give a "
                f"prompt (e.g. {EXAMPLE} -n 4) and leave out --panel"
            )
    sync = defaults.sync if options.sync is None else options.sync
    variants = has_prompt and has_variants(template)
    loras = lora_values(lists["lora"])
    _check_family(images, loras, grid=count > 1 or variants or len(seeds) > 1)
    model = model_value(text.get("model"), edit=bool(images), loras=bool(loras))
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
    keep = bool(images) and not sized  # an edit keeps its first image's size
    # A template stays protected on its way to compare; a plain prompt is the request's.
    said = request.prompt if prompt.strip() else ""
    return MagicArgs(
        prompt=Protected(template.strip()) if variants else said,
        width=None if keep else request.width,
        height=None if keep else request.height,
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
        model=model.name,
        images=images,
        loras=loras,
    )


def _check_family(
    images: tuple[str, ...], loras: tuple[tuple[str, float], ...], *, grid: bool
) -> None:
    """What the family's options cannot do together, said before anything is sent."""
    if images and loras:
        raise MagicUsageError(
            "--lora with --edit or --ref: FLUX.2 [klein]'s edit models take no LoRAs; "
            "make the styled image first (--lora), then edit it (--edit last)"
        )
    if grid and images:
        raise MagicUsageError(
            "--edit/--ref makes one image: leave out -n, the list of seeds and {a|b} variants"
        )
