"""Prompt variants: ``{a|b|c}``, ``{2::a|b}``, ``{2$$a|b|c}`` and ``__wildcard__`` files.

The syntax is that of the Dynamic Prompts extension A1111 and ComfyUI users know, and the
`dynamicprompts` library (combinatorial mode) does the expanding: every alternative once.
Weights (``{2::a|b}``) matter only to random sampling, so a grid shows each option once;
``{2$$a|b|c}`` picks two, joined by ``,`` (``{2$$ and $$a|b|c}`` names the joiner).
Wildcards come from ``NAME.txt`` files (one option a line) in the folder given as
``wildcards=``, else ``$KLEIN_WILDCARDS``, else ``./wildcards`` when it exists.

Only a brace group holding ``|``, a ``__wildcard__`` or a counted or weighted form is a
variant: ``a sign that says {OPEN}`` is sent as written, and so is a JSON prompt
(``{"scene": "a fox in snow"}``), which is never expanded.

What a template expands to is `Variants`: its `Axis` parts that vary, and each `Variant`
prompt, which says which words varied (``choices``, and ``segments`` with those words
emphasised, for grid labels), all of them with their cost (`Variants.cost_text`).
Mistakes are `InvalidRequestError` before anything is sent.
The library treats ``#``, ``//``, ``$``, ``%`` and ``__`` as syntax everywhere; here they
stay literal text unless they are variant syntax, so ``a $5 bill, #1 fan`` is unharmed.

Example:
    >>> variants = expand_variants("a {red|blue} fox in {snow|rain}")
    >>> variants.prompts[:2]
    ('a red fox in snow', 'a red fox in rain')
    >>> variants[3].choices, len(variants)
    (('blue', 'rain'), 4)
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import DEFAULT_MODEL, KleinModel
from klein_widget.client._models import PRICE_PER_IMAGE_MILLS
from klein_widget.lessons._variant_text import (
    WILDCARDS_ENV,
    Protected,
    escape_own,
    guard,
    has_variants,
    is_json_prompt,
    literal,
    literal_braces,
    restore,
    wildcards_folder,
)
from klein_widget.ui._labels import Segment
from klein_widget.ui._text import price_text

if TYPE_CHECKING:
    from dynamicprompts.commands import Command
    from dynamicprompts.sampling_context import SamplingContext

__all__ = [
    "ASK_OVER_IMAGES",
    "MAX_EXPANSIONS",
    "VARIANTS_CONFIRM_OVER",
    "Axis",
    "Variant",
    "Variants",
    "expand_variants",
    "known_wildcard",
]

ASK_OVER_IMAGES = 64  # a grid of more new images than this asks first
VARIANTS_CONFIRM_OVER = ASK_OVER_IMAGES * PRICE_PER_IMAGE_MILLS / 1000  # $0.512, as confirm_over
MAX_EXPANSIONS = 1024  # prompts one template may expand to: beyond, it is surely a mistake

_SYNTAX_HELP = (
    "write alternatives as {red|blue}, weighted as {2::red|blue}, two at once as "
    "{2$$red|blue|green}, and wildcards as __name__ (a file name.txt)"
)


# --- what a template expands to ------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One part of a template that varies: how it was written and what it becomes."""

    source: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One expanded prompt: its text, the value chosen for each axis, and the text in
    `Segment` pieces with the chosen words emphasised (for labels).

    Example:
        >>> v = expand_variants("a {red|blue} fox")[1]
        >>> v.prompt, v.choices, [s.text for s in v.segments if s.emphasised]
        ('a blue fox', ('blue',), ['blue'])
    """

    prompt: str
    choices: tuple[str, ...]
    segments: tuple[Segment, ...]

    @property
    def label(self) -> str:
        """The chosen words, ``" · "`` between axes (the prompt if nothing varied)."""
        return " · ".join(c or "(nothing)" for c in self.choices) if self.choices else self.prompt


@dataclass(frozen=True)
class Variants(Sequence[Variant]):
    """What a template expands to: its axes and every combination, the first axis slowest.

    Example:
        >>> v = expand_variants("a {red|blue} fox, __animal__", wildcards=None)
        ... # doctest: +SKIP
        >>> expand_variants("a {red|blue} fox").cost_text(seeds=3)
        '2 prompts x 3 seeds = 6 images, at most $0.048 (images already in the gallery are free)'
    """

    template: str
    axes: tuple[Axis, ...]
    variants: tuple[Variant, ...]

    @overload
    def __getitem__(self, index: int) -> Variant: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Variant]: ...
    def __getitem__(self, index: int | slice) -> Variant | Sequence[Variant]:
        return self.variants[index]

    def __len__(self) -> int:
        return len(self.variants)

    @property
    def prompts(self) -> tuple[str, ...]:
        """The expanded prompts, in order."""
        return tuple(v.prompt for v in self.variants)

    def cost_text(
        self,
        seeds: int = 1,
        sizes: int = 1,
        base_url: str | None = None,
        *,
        models: Sequence[KleinModel] = (DEFAULT_MODEL,),
    ) -> str:
        """What making every prompt on each of ``models`` with ``seeds`` seeds and ``sizes``
        sizes costs at most, each model at the price a budget reserves for it (``base_url``
        a local emulator: the price says "simulated")."""
        parts = [(len(self), "prompt"), (len(models), "model"), (seeds, "seed"), (sizes, "size")]
        shown = [f"{n} {noun}{'s' * (n != 1)}" for n, noun in parts if n > 1 or noun == "prompt"]
        each = len(self) * seeds * sizes
        images = each * len(models)
        dollars = each * sum(model.reserve_mills for model in models) / 1000
        return (
            f"{' x '.join(shown)} = {images} image{'s' * (images != 1)}, at most "
            f"{price_text(dollars, base_url)} "
            "(images already in the gallery are free)"
        )


# --- expanding ---------------------------------------------------------------------


def _invalid(template: str, reason: str) -> InvalidRequestError:
    return InvalidRequestError(f"prompt {template!r}: {reason}", field="prompt")


def _context(folder: Path | None) -> SamplingContext:
    from dynamicprompts.enums import SamplingMethod
    from dynamicprompts.sampling_context import SamplingContext
    from dynamicprompts.wildcards import WildcardManager

    return SamplingContext(
        default_sampling_method=SamplingMethod.COMBINATORIAL,
        wildcard_manager=WildcardManager(folder),
    )


def known_wildcard(name: str, *, wildcards: str | os.PathLike[str] | None = None) -> bool:
    """True if ``__name__`` has options in the wildcards folder (see `wildcards_folder`).

    Example:
        >>> known_wildcard("no such list", wildcards="/nowhere")
        False
    """
    folder = wildcards_folder(wildcards)
    if folder is None:
        return False
    return bool(_context(folder).wildcard_manager.get_values(name))


def _check(command: Any, template: str, context: SamplingContext, folder: Path | None) -> None:
    """Refuse what would not make a fixed, finite grid: random or cyclic picks, and
    wildcards with no file (the library would repeat their name forever)."""
    from dynamicprompts.commands import WildcardCommand

    method = getattr(command, "sampling_method", None)
    if method is not None and method.is_nonfinite():
        raise _invalid(template, "random (~) and cyclic (@) picks make no fixed grid; drop them")
    if isinstance(command, WildcardCommand):
        name = command.wildcard if isinstance(command.wildcard, str) else None
        if name is not None and not context.wildcard_manager.get_values(name):
            where = (
                f"no file {name}.txt in {folder}"
                if folder is not None
                else f"no wildcards folder: pass wildcards=, set ${WILDCARDS_ENV}, "
                "or make ./wildcards"
            )
            raise _invalid(template, f"__{name}__ has no options ({where})")
    for child in _children(command):
        _check(child, template, context, folder)


def _children(command: Any) -> list[Any]:
    for name in ("tokens", "values", "inner", "wrapper", "value", "default"):
        found = getattr(command, name, None)
        if isinstance(found, list):
            return [c for c in found if hasattr(c, "sampling_method")]
        if hasattr(found, "sampling_method"):
            return [found]
    return []


def _source(command: Any) -> str:
    from dynamicprompts.commands import LiteralCommand, VariantCommand, WildcardCommand

    if isinstance(command, WildcardCommand):
        return f"__{command.wildcard}__"
    if isinstance(command, VariantCommand):
        texts = [v.literal if isinstance(v, LiteralCommand) else "…" for v in command.values]
        return restore("{" + "|".join(texts) + "}")
    return "…"


def _values(command: Command, context: SamplingContext, template: str) -> tuple[str, ...]:
    results = context.generator_from_command(command)
    values = tuple(restore(str(r)) for r in itertools.islice(results, MAX_EXPANSIONS + 1))
    if len(values) > MAX_EXPANSIONS:
        raise _invalid(template, f"{_source(command)} has more than {MAX_EXPANSIONS} options")
    return values


def expand_variants(template: str, *, wildcards: str | os.PathLike[str] | None = None) -> Variants:
    """Every prompt ``template`` stands for, with which words varied (see the module doc).

    A template with nothing to expand is one prompt with no axes. Raises
    `InvalidRequestError` for bad syntax, a missing wildcard, random (``~``) picks, or
    more than `MAX_EXPANSIONS` prompts.

    Example:
        >>> [v.prompt for v in expand_variants("{2$$ and $$salt|pepper} on {rice|toast}")][:2]
        ['salt and pepper on rice', 'salt and pepper on toast']
    """
    if not isinstance(template, str):
        raise InvalidRequestError(f"prompt must be text, not {type(template).__name__}")
    # %klein's templates come protected already; anyone else's is the user's own text.
    if not isinstance(template, Protected):
        # A structured prompt is sent as written.
        template = literal(template) if is_json_prompt(template) else escape_own(template)
    template = literal_braces(template)
    if not has_variants(template):
        plain = restore(template)
        return Variants(plain, (), (Variant(plain, (), (Segment(plain),)),))
    import pyparsing
    from dynamicprompts.commands import LiteralCommand, SequenceCommand
    from dynamicprompts.parser.parse import parse

    folder = wildcards_folder(wildcards)
    context = _context(folder)
    guarded = guard(template)
    try:
        with warnings.catch_warnings():  # pyparsing's notices about the library's own code
            warnings.simplefilter("ignore", DeprecationWarning)
            command = parse(guarded, parser_config=context.parser_config)
    except pyparsing.ParseBaseException as error:
        near = restore(guarded[error.loc : error.loc + 12])
        raise _invalid(
            template, f"cannot read it at character {error.loc + 1} ({near!r}): {_SYNTAX_HELP}"
        ) from None
    _check(command, template, context, folder)
    tokens = command.tokens if isinstance(command, SequenceCommand) else [command]
    if not all(isinstance(t, LiteralCommand) or _source(t) != "…" for t in tokens):
        tokens = [command]  # variables or wraps: the library expands the whole, one axis
    pieces: list[str | tuple[str, ...]] = []
    axes: list[Axis] = []
    for token in tokens:
        if isinstance(token, LiteralCommand):
            pieces.append(restore(token.literal))
            continue
        try:
            values = _values(token, context, template)
        except (KeyError, RecursionError, ValueError) as error:
            raise _invalid(template, f"{error}: {_SYNTAX_HELP}") from None
        pieces.append(values)
        axes.append(Axis(_source(token), values))
    total = math.prod(max(1, len(axis.values)) for axis in axes)
    if total > MAX_EXPANSIONS:
        raise _invalid(template, f"it expands to {total} prompts, over {MAX_EXPANSIONS}")
    variants = [_variant(pieces, choice) for choice in itertools.product(*[a.values for a in axes])]
    return Variants(restore(template), tuple(axes), tuple(variants))


def _variant(pieces: Sequence[str | tuple[str, ...]], choice: tuple[str, ...]) -> Variant:
    chosen = iter(choice)
    segments: list[Segment] = []
    for piece in pieces:
        text, emphasised = (piece, False) if isinstance(piece, str) else (next(chosen), True)
        if text:
            segments.append(Segment(text, emphasised))
    return Variant("".join(s.text for s in segments), choice, tuple(segments))
