"""The guide's list of %klein options is the declared one (ui/_magic_options), so the two
cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from klein_widget.ui._magic_options import MAGIC_OPTIONS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "GUIDE.md"


def test_the_guide_lists_every_magic_option_and_no_other() -> None:
    text = GUIDE.read_text()
    start = text.index("Options: `")
    line = text[start : text.index(".", start)]
    listed = {flag for flag in re.findall(r"--?[A-Za-z]+", line)}
    declared = {flag for option in MAGIC_OPTIONS for flag in option.flags}
    assert listed == declared
