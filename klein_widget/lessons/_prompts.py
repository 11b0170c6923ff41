"""`PromptBuilder`: compose a prompt from named parts and explain what each part does.

A teaching aid: learners fill in subject, style, lighting, colours, mood and composition,
see the prompt they make, and vary one part at a time with `PromptBuilder.with_`.

Example:
    >>> fox = PromptBuilder("a red fox curled up asleep", style="watercolour illustration",
    ...                     lighting="soft morning light")
    >>> fox.prompt
    'a red fox curled up asleep, watercolour illustration, soft morning light'
    >>> fox.with_(lighting="moonlight").prompt
    'a red fox curled up asleep, watercolour illustration, moonlight'

A part may hold prompt variants (``{dawn|dusk}``); `PromptBuilder.vary` writes them and
`PromptBuilder.expand` lists every prompt the builder stands for (``compare`` takes it too):
    >>> [p[-4:] for p in fox.vary("lighting", "dawn", "dusk").expand()]
    ['dawn', 'dusk']
"""

from __future__ import annotations

import html
import os
import textwrap
from dataclasses import dataclass

from klein_widget.client._models import check_prompt
from klein_widget.lessons._variants import Variants, expand_variants

__all__ = ["PARTS", "PART_HELP", "Explanation", "PromptBuilder"]

# The order parts are written in: what the picture is of first, because text-to-image
# models weigh the start of a prompt most; then the parts that change the whole look.
PARTS = ("subject", "style", "lighting", "colours", "mood", "composition")

PART_HELP: dict[str, str] = {
    "subject": (
        "What the picture is of, and what it is doing. It goes first: the model pays most "
        "attention to the start of the prompt. Specific beats vague: 'an old fisherman "
        "mending a net' gives the model far more to draw than 'a man'."
    ),
    "style": (
        "The medium or look: photograph, watercolour, linocut print, 3D render, anime. "
        "One style phrase changes every pixel, so it is the strongest lever after the subject."
    ),
    "lighting": (
        "Where the light comes from and what it is like: golden hour, overcast, neon, "
        "rim light, candlelight. Lighting sets depth, time of day and much of the mood."
    ),
    "colours": (
        "The palette: named colours ('teal and orange', 'muted earth tones') are followed "
        "closely, and keep a series of images looking like a set."
    ),
    "mood": (
        "The feeling: serene, eerie, joyful, melancholic. One mood word steers many small "
        "choices at once (expression, weather, contrast)."
    ),
    "composition": (
        "Framing and camera: close-up, wide shot, from below, centred, rule of thirds, "
        "shallow depth of field. It decides what is in the frame and where the eye goes."
    ),
}

_UNSET = "not set: the model decides"


def _clean(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text, not {type(value).__name__} {value!r}")
    return value.strip()


def _joined(parts: list[str]) -> str:
    """Parts joined with ", "; a part followed by another loses its trailing commas and
    full stops (they would double up), the last part is kept as written."""
    trimmed = [part.rstrip(",.;").strip() or part for part in parts[:-1]]
    return ", ".join(trimmed + parts[-1:])


@dataclass(frozen=True)
class PartExplanation:
    """One row of `PromptBuilder.explain`: the part, its text ("" if unset), what it does."""

    part: str
    text: str
    does: str


@dataclass(frozen=True, repr=False)
class Explanation:
    """A table of a prompt's parts; prints as text, displays as an HTML table.

    Example:
        >>> print(PromptBuilder("a lighthouse", mood="lonely").explain())  # doctest: +ELLIPSIS
        prompt: a lighthouse, lonely
        <BLANKLINE>
        subject      a lighthouse
                     What the picture is of, and what it is doing. It goes first: the model pays...
    """

    prompt: str
    rows: tuple[PartExplanation, ...]

    def __str__(self) -> str:
        lines = [f"prompt: {self.prompt}"]
        for row in self.rows:
            lines.append("")
            lines.append(f"{row.part:<12} {row.text or '(' + _UNSET + ')'}")
            lines.extend(
                textwrap.wrap(row.does, 88, initial_indent=" " * 13, subsequent_indent=" " * 13)
            )
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        border = "border: 1px solid var(--jp-border-color2, rgba(128, 128, 128, 0.35));"
        cell = f'style="{border} padding: 4px 8px; text-align: left; vertical-align: top;"'
        muted = "color: var(--jp-ui-font-color2, #777); font-style: italic;"
        body = []
        for row in self.rows:
            text = (
                f"<code>{html.escape(row.text)}</code>"
                if row.text
                else f'<span style="{muted}">{_UNSET}</span>'
            )
            body.append(
                f"<tr><th {cell}>{row.part}</th><td {cell}>{text}</td>"
                f"<td {cell}>{html.escape(row.does)}</td></tr>"
            )
        return (
            '<div class="klein-prompt" style="color: var(--jp-ui-font-color1, inherit);">'
            f"<p><b>Prompt:</b> <code>{html.escape(self.prompt)}</code></p>"
            '<table style="border-collapse: collapse;">'
            f"<thead><tr><th {cell}>part</th><th {cell}>text</th><th {cell}>what it does</th>"
            f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )


@dataclass(frozen=True, init=False)
class PromptBuilder:
    """A prompt made of named parts, written in a fixed, sensible order.

    Only ``subject`` is required; unset parts are left to the model. ``colors`` is
    accepted as another spelling of ``colours``. Builders are immutable: `with_` returns
    a changed copy, so one part can be varied while the rest stay fixed.

    Example:
        >>> b = PromptBuilder("a lighthouse on a cliff", style="linocut print",
        ...                   colors="deep blue and cream", mood="lonely")
        >>> str(b)
        'a lighthouse on a cliff, linocut print, deep blue and cream, lonely'
        >>> b.with_(mood="").prompt
        'a lighthouse on a cliff, linocut print, deep blue and cream'
    """

    subject: str
    style: str
    lighting: str
    colours: str
    mood: str
    composition: str

    def __init__(
        self,
        subject: str,
        *,
        style: str = "",
        lighting: str = "",
        colours: str = "",
        mood: str = "",
        composition: str = "",
        colors: str | None = None,
    ) -> None:
        if colors is not None:
            if colours:
                raise TypeError("give colours= or colors=, not both (they are the same part)")
            colours = colors
        values = (subject, style, lighting, colours, mood, composition)  # in PARTS order
        for name, value in zip(PARTS, values, strict=True):
            object.__setattr__(self, name, _clean(name, value))
        if not self.subject:
            raise ValueError(
                "subject is empty: say what the picture is of, e.g. "
                "PromptBuilder('a red fox curled up asleep')"
            )
        check_prompt(self.prompt)

    @property
    def parts(self) -> dict[str, str]:
        """The parts that are set, in prompt order."""
        return {name: getattr(self, name) for name in PARTS if getattr(self, name)}

    @property
    def unset(self) -> tuple[str, ...]:
        """The parts left to the model."""
        return tuple(name for name in PARTS if not getattr(self, name))

    @property
    def prompt(self) -> str:
        """The composed prompt: the set parts in order, joined with commas (a subject alone
        is the prompt exactly as written)."""
        return _joined(list(self.parts.values()))

    def with_(self, **changes: str) -> PromptBuilder:
        """A copy with some parts changed (``""`` clears a part).

        Example:
            >>> PromptBuilder("a cat").with_(style="oil painting").prompt
            'a cat, oil painting'
        """
        if "colors" in changes:
            changes["colours"] = changes.pop("colors")
        unknown = sorted(set(changes) - set(PARTS))
        if unknown:
            raise TypeError(f"unknown part {', '.join(unknown)}: the parts are {', '.join(PARTS)}")
        return PromptBuilder(**{name: getattr(self, name) for name in PARTS} | changes)

    replace = with_

    def vary(self, part: str, *options: str) -> PromptBuilder:
        """A copy whose ``part`` is each of ``options`` in turn: ``{a|b|c}`` variant syntax.

        Example:
            >>> PromptBuilder("a cat").vary("style", "oil painting", "linocut").prompt
            'a cat, {oil painting|linocut}'
        """
        if len(options) < 2:
            raise ValueError(f"vary() needs two or more options for {part}, not {len(options)}")
        texts = [_clean(part, option).rstrip(",.;").strip() for option in options]
        for option, text in zip(options, texts, strict=True):
            if not text or any(char in text for char in "{}|"):
                raise ValueError(
                    f"each option is plain, non-empty text without braces or |, not {option!r}"
                )
        return self.with_(**{part: "{" + "|".join(texts) + "}"})

    def variants(self, *, wildcards: str | os.PathLike[str] | None = None) -> Variants:
        """What the prompt's ``{a|b}`` and ``__wildcard__`` parts expand to, with labels.

        Example:
            >>> PromptBuilder("a {red|blue} fox").variants().axes[0].values
            ('red', 'blue')
        """
        return expand_variants(self.prompt, wildcards=wildcards)

    def expand(self, *, wildcards: str | os.PathLike[str] | None = None) -> list[str]:
        """Every prompt this builder stands for (one if it has no variants).

        Example:
            >>> PromptBuilder("a fox", mood="{calm|eerie}").expand()
            ['a fox, calm', 'a fox, eerie']
        """
        return list(self.variants(wildcards=wildcards).prompts)

    def explain(self) -> Explanation:
        """Each part, its text and what it does to the image (unset parts included)."""
        rows = tuple(PartExplanation(name, getattr(self, name), PART_HELP[name]) for name in PARTS)
        return Explanation(self.prompt, rows)

    def __str__(self) -> str:
        return self.prompt

    def __repr__(self) -> str:
        args = [repr(self.subject)] + [
            f"{name}={value!r}" for name, value in self.parts.items() if name != "subject"
        ]
        return f"PromptBuilder({', '.join(args)})"

    def _repr_html_(self) -> str:
        return self.explain()._repr_html_()
