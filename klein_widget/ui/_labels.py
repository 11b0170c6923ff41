"""Labels for grids: text pieces (`Segment`) with the words that differ emphasised.

`highlight_differences` finds the words each prompt adds to what all prompts share;
`klein_widget.lessons._variants` marks the words a variant chose. The HTML grid
(`klein_widget.ui._grid`) and the PNG grid (`klein_widget.ui._grid_image`) draw them.

Example:
    >>> rows = highlight_differences(["a fox", "a fox in snow"])
    >>> [s.text for s in rows[1] if s.emphasised]
    ['in snow']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

__all__ = ["Label", "Segment", "highlight_differences", "label_text"]


@dataclass(frozen=True)
class Segment:
    """A piece of a label; ``emphasised`` pieces are highlighted."""

    text: str
    emphasised: bool = False


Label: TypeAlias = str | Sequence[Segment]


def label_text(label: Label) -> str:
    """The label's plain text.

    Example:
        >>> label_text([Segment("a "), Segment("red", True)])
        'a red'
    """
    return label if isinstance(label, str) else "".join(s.text for s in label)


_WORD = re.compile(r"\S+")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}"


def _normalise(word: str) -> str:
    return word.strip(_EDGE_PUNCTUATION).lower()


def _common_words(token_lists: Sequence[list[str]]) -> list[str]:
    """The longest common word sequence of all prompts, found pairwise (good enough)."""
    common = token_lists[0]
    for tokens in token_lists[1:]:
        matcher = difflib.SequenceMatcher(a=common, b=tokens, autojunk=False)
        common = [
            w
            for block in matcher.get_matching_blocks()
            for w in common[block.a : block.a + block.size]
        ]
    return common


def highlight_differences(prompts: Sequence[str]) -> list[list[Segment]]:
    """Split each prompt into segments, emphasising the words it adds to the common part.

    The common part is the word sequence every prompt shares (case and edge punctuation
    ignored). With a single prompt, or identical prompts, nothing is emphasised.

    Example:
        >>> rows = highlight_differences(["a fox", "a fox in snow", "a small fox"])
        >>> [[s.text for s in row if s.emphasised] for row in rows]
        [[], ['in snow'], ['small']]
    """
    matches = [list(_WORD.finditer(p)) for p in prompts]
    token_lists = [[_normalise(m.group()) for m in ms] for ms in matches]
    if len(prompts) < 2:
        return [[Segment(p)] if p else [] for p in prompts]
    common = _common_words(token_lists)
    result: list[list[Segment]] = []
    for prompt, ms, tokens in zip(prompts, matches, token_lists, strict=True):
        # Words of this prompt that are part of the common sequence, aligned the same way.
        matcher = difflib.SequenceMatcher(a=tokens, b=common, autojunk=False)
        shared = {
            i for blk in matcher.get_matching_blocks() for i in range(blk.a, blk.a + blk.size)
        }
        result.append(_segments(prompt, ms, shared))
    return result


def _segments(prompt: str, matches: list[re.Match[str]], shared: set[int]) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for index, match in enumerate(matches):
        emphasised = index not in shared
        gap = prompt[position : match.start()]
        position = match.end()
        if segments and segments[-1].emphasised == emphasised:
            segments[-1] = Segment(segments[-1].text + gap + match.group(), emphasised)
        elif segments and not segments[-1].emphasised:
            # Whitespace between a plain and an emphasised run belongs to the plain side.
            segments[-1] = Segment(segments[-1].text + gap, False)
            segments.append(Segment(match.group(), emphasised))
        else:
            segments.append(Segment(gap + match.group(), emphasised))
    return segments
