"""The README's list of %klein options is the declared one (ui/_magic_options), so the two
cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from klein_widget.ui._magic_options import MAGIC_OPTIONS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lists_every_magic_option_and_no_other() -> None:
    text = README.read_text()
    start = text.index("Options: `")
    line = text[start : text.index(".", start)]
    listed = {flag for flag in re.findall(r"--?[A-Za-z]+", line)}
    declared = {flag for option in MAGIC_OPTIONS for flag in option.flags}
    assert listed == declared
