"""Benchmark results: sections of rows, printed as text tables, saved as JSON or Markdown.

Every headline figure is a ratio to a baseline measured in the same run (the inference
time, the ideal batch time, ``import httpx``, the official SDK), printed like ``1.07x``.

Example:
    >>> s = Section("single", "1. single image", "inference time 0.600 s", ["p50"])
    >>> s.add("klein_widget", {"p50": "0.640 s"}, ratio=1.067, target=1.10)
    >>> s.rows[0].verdict
    'met'
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linearly interpolated.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
        2.5
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else math.nan


def ratio(value: float) -> str:
    """A ratio as printed everywhere: ``1.07x``.

    Example:
        >>> ratio(1.0666)
        '1.07x'
    """
    return f"{value:.2f}x"


def seconds(value: float) -> str:
    """Seconds with millisecond resolution: ``0.640 s``."""
    return f"{value:.3f} s"


@dataclass
class Row:
    """One line of a section: a label, its cells, and the headline ratio against a target."""

    label: str
    cells: dict[str, str]
    ratio: float | None = None  # the figure a target applies to
    target: float | None = None  # met when ratio <= target
    values: dict[str, float] = field(default_factory=dict)  # raw numbers, for JSON
    target_text: str = ""  # how the target reads, if not "<= 1.10x"

    @property
    def verdict(self) -> str:
        """``met``, ``MISSED`` or ``""`` (no target)."""
        if self.target is None or self.ratio is None:
            return ""
        return "met" if self.ratio <= self.target else "MISSED"


@dataclass
class Section:
    """One benchmark's results."""

    key: str
    title: str
    baseline: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        label: str,
        cells: dict[str, str],
        *,
        ratio: float | None = None,
        target: float | None = None,
        values: dict[str, float] | None = None,
        target_text: str = "",
    ) -> Row:
        row = Row(label, cells, ratio, target, dict(values or {}), target_text)
        self.rows.append(row)
        return row

    @property
    def has_targets(self) -> bool:
        return any(row.target is not None for row in self.rows)

    def table(self) -> list[list[str]]:
        """Header plus one list of cells per row."""
        header = ["", *self.columns]
        if self.has_targets:
            header.append("target")
        lines = [header]
        for row in self.rows:
            cells = [row.label, *(row.cells.get(c, "") for c in self.columns)]
            if self.has_targets:
                if row.target is None:
                    cells.append("")
                else:
                    text = row.target_text or f"<= {ratio(row.target)}"
                    cells.append(f"{text} {row.verdict}")
            lines.append(cells)
        return lines

    def text(self) -> str:
        """The section as a plain-text table."""
        lines = self.table()
        widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
        out = [f"== {self.title} ==", f"   baseline: {self.baseline}"]
        for line in lines:
            cells = [line[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
            out.append("   " + "  ".join(cells).rstrip())
        out += [f"   - {note}" for note in self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        """The section as a Markdown table."""
        lines = self.table()
        out = [f"### {self.title}", "", f"Baseline: {self.baseline}.", ""]
        out.append("| " + " | ".join(lines[0]) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(lines[0]) - 1)) + "|")
        out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
        if self.notes:
            out.append("")
            out += [f"- {note}" for note in self.notes]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for row, raw in zip(self.rows, data["rows"], strict=True):
            raw["verdict"] = row.verdict
        return data
