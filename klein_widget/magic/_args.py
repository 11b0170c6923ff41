"""Pure parsing for ``%klein`` / ``%%klein``: a line in, a typed `MagicArgs` out, and back.

No IPython here: `parse_line` turns the magic's text into `MagicArgs` (or raises
`MagicUsageError` saying what is allowed), and `format_magic` writes the ``%klein`` line
that reproduces a `GenerationRequest` (the panel's snippet). Ranges are checked by
`GenerationRequest`, the one place those rules live. The steps live in their own
modules (words in `klein_widget.magic._words`, ``{name}`` in `klein_widget.magic._expand`,
options in `klein_widget.magic._options`, built from the declaration in
`klein_widget.ui._magic_options`); this one puts them together and re-exports
what the rest of the package and the tests use.

Rules of the line:

* Words are split like a shell line to find the options: ``"..."`` and ``'...'`` group
  words, a backslash escapes a quote, a backslash or a blank. A quote right after a letter
  or digit is just a character, so ``a fox's den`` and ``a 12" record`` need no quoting.
* The prompt is sent as typed: the line's text from its first prompt word to its last,
  quotes included (``%klein a shop sign that says "OPEN"`` sends the quotes, which tell
  FLUX.2 which text to draw). One exception: a prompt that is ONE quoted string
  (``%klein "a fox, at dusk" --aspect 16:9``) is sent without those outer quotes. Words
  split by options are joined by one space; ``--`` ends the options (for a prompt that
  starts with ``-``). ``%%klein`` takes the cell body instead, exactly as written.
* A prompt that is a JSON object or list (``{"scene": "a fox in snow"}``) is sent as
  written: no ``{name}`` is filled in and nothing expands.
* ``{name}`` (also ``{name.attr}``, ``{name[0]}``, ``{name:.2f}``) is filled in from the
  namespace, in the prompt and in option values; ``{{`` and ``}}`` are literal braces.
* In the prompt, ``{red|blue}`` (a ``{...}`` holding ``|``, a ``__wildcard__``, ``N$$`` or
  ``N::``) and ``__wildcard__`` are prompt variants: ``%klein`` makes a labelled grid of them
  (`klein_widget.lessons._compare.compare`), as it does for a list of seeds ``-s 1,2,3``.

Example:
    >>> args = parse_line('"a red fox, at dusk" -W 768 -H 512 -s 42')
    >>> args.prompt, args.width, args.height, args.seed
    ('a red fox, at dusk', 768, 512, 42)
    >>> format_magic(args.request())
    '%klein "a red fox, at dusk" -W 768 -H 512 -s 42'
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._models import DEFAULT_SIDE, MAX_SEED, RANDOM_SEED, GenerationRequest
from klein_widget.lessons._variant_text import has_variants
from klein_widget.lessons._variants import expand_variants
from klein_widget.magic._expand import expand, restore
from klein_widget.magic._options import (
    MAX_COUNT,
    MagicDefaults,
    invalid,
    parse_options,
    read_count,
    read_seed,
    read_size,
)
from klein_widget.magic._words import EXAMPLE, MagicUsageError, Word, prompt_text, split_words
from klein_widget.ui._snippets import format_magic

__all__ = [
    "MAX_COUNT",
    "MagicArgs",
    "MagicDefaults",
    "MagicUsageError",
    "expand",
    "format_magic",
    "parse_line",
    "split_words",
]


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


def _strip_magic_name(line: str, cell: str | None) -> tuple[str, str | None]:
    """Accept a whole ``%klein ...`` line or ``%%klein ...`` cell, as `format_magic` writes."""
    text = line.lstrip()
    for name in ("%%klein", "%klein"):
        rest = text[len(name) :]
        if text.startswith(name) and (not rest or rest[0].isspace()):
            if name == "%%klein" and cell is None:
                first, _, body = rest.partition("\n")
                return first, body
            return rest, cell
    return line, cell


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
    line, cell = _strip_magic_name(line, cell)
    head, line = _json_head(line) if cell is None else ("", line)
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
        raise invalid(error) from None
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


def _json_head(line: str) -> tuple[str, str]:
    """A line that starts with a JSON object or list: that JSON (the prompt, as written) and
    the rest of the line (its options); otherwise ``("", line)``."""
    text = line.lstrip()
    if text[:1] not in ("{", "["):
        return "", line
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return "", line
    if not isinstance(value, (dict, list)) or text[end : end + 1].strip():
        return "", line
    return text[:end], text[end:]


def _seed_list(text: str) -> tuple[Any, ...]:
    """``-s 1,2,3``: each seed as `read_seed` reads one (bad ones are refused later)."""
    return tuple(read_seed(part) for part in text.split(",") if part.strip())
