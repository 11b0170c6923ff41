"""Figures that moved: each figure of this run against its last recording in RESULTS.md.

A figure more than `THRESHOLD` (20%) off the recorded one gets a line, so a regression (or
a stale RESULTS.md) shows without reading two tables side by side. Figures are matched by
section number, row label and column; a row or section not recorded is skipped.

Example:
    >>> recorded = {"4.": {"import klein_widget": {"time": "100.0 ms"}}}
    >>> now = {"4.": {"import klein_widget": {"time": "130.0 ms"}}}
    >>> drift_lines(recorded, now)
    ['   4. import klein_widget / time: 130.0 ms, recorded 100.0 ms (+30%)']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bench._report import Section

__all__ = ["THRESHOLD", "drift_lines", "recorded_figures", "section_figures"]

THRESHOLD = 0.20
Figures = dict[str, dict[str, dict[str, str]]]  # section number -> row -> column -> cell
_NUMBER = re.compile(r"^-?\d[\d,]*\.?\d*")


def _number(cell: str) -> float | None:
    found = _NUMBER.match(cell.strip())
    return float(found.group(0).replace(",", "")) if found else None


def _key(title: str) -> str:
    # The section's number ("4.", "7b."): the rest of a title may carry figures of its run.
    return title.strip().split(" ", 1)[0]


def recorded_figures(markdown: str) -> Figures:
    """The tables of RESULTS.md (as `Section.markdown` writes them), by title, row, column."""
    figures: Figures = {}
    title, header = "", list[str]()
    for line in markdown.splitlines():
        if line.startswith("### "):
            title, header = _key(line[4:]), []
        elif title and line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not header:
                header = cells
                continue
            figures.setdefault(title, {})[cells[0]] = dict(zip(header[1:], cells[1:], strict=False))
    return figures


def section_figures(sections: Sequence[Section]) -> Figures:
    """This run's tables in the same shape."""
    figures: Figures = {}
    for section in sections:
        header, *rows = section.table()
        for row in rows:
            cells = dict(zip(header[1:], row[1:], strict=False))
            figures.setdefault(_key(section.title), {})[row[0]] = cells
    return figures


def drift_lines(recorded: Figures, now: Figures, threshold: float = THRESHOLD) -> list[str]:
    """One line per figure more than ``threshold`` off its recording."""
    lines = []
    for title, rows in now.items():
        for label, cells in rows.items():
            old_cells = recorded.get(title, {}).get(label, {})
            for column, cell in cells.items():
                if column == "target":
                    continue
                new, old = _number(cell), _number(old_cells.get(column, ""))
                if new is None or old is None or old == 0:
                    continue
                change = (new - old) / abs(old)
                if abs(change) > threshold:
                    lines.append(
                        f"   {title} {label} / {column}: {cell}, recorded "
                        f"{old_cells[column]} ({change:+.0%})"
                    )
    return lines
