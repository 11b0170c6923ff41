"""One aspect, one size, whichever door asked: the panel's preset buttons, ``%klein
--aspect``, ``klein generate --aspect`` and ``compare(aspect=...)`` all use
`klein_widget.ui._sizes.size_for_aspect`. The same seed must make the same image.

Each door is driven for real: the panel object's buttons, the magic's parser, the CLI's
argparse parser, and compare() against the emulator.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from klein_widget import KleinClient
from klein_widget.cli import build_parser as cli_parser
from klein_widget.cli import requested_size
from klein_widget.client._models import DEFAULT_SIDE, MAX_SIDE, MIN_SIDE, SIDE_STEP
from klein_widget.lessons._compare import COMPARE_SIDE, compare
from klein_widget.magic._args import MagicDefaults, parse_line
from klein_widget.ui._sizes import ASPECT_PRESETS, size_for_aspect
from klein_widget.widget._widget import KleinPanel

from .conftest import click

# What every door gives at the default long side: the table issue 12 asked for, written
# out so that a change of rule shows up here as a change of numbers.
AT_1024 = {
    "1:1": (1024, 1024),
    "4:3": (1024, 768),
    "3:4": (768, 1024),
    "3:2": (1024, 688),  # %klein gave 1024x672 before: it rounded down
    "2:3": (688, 1024),
    "16:9": (1024, 576),
    "9:16": (576, 1024),
}


def panel_size(panel: KleinPanel, preset: str, long_side: int) -> tuple[int, int]:
    panel.width, panel.height = long_side, long_side
    click(panel, "preset", name=preset)
    assert panel.active_preset == preset
    return (panel.width, panel.height)


def magic_size(preset: str, long_side: int) -> tuple[int, int]:
    defaults = MagicDefaults(width=long_side, height=long_side)
    args = parse_line(f"a fox --aspect {preset}", defaults)
    return (args.width, args.height)


def cli_size(preset: str) -> tuple[int, int]:
    return requested_size(cli_parser().parse_args(["generate", "a fox", "--aspect", preset]))


def test_the_table_covers_every_preset() -> None:
    assert set(AT_1024) == set(ASPECT_PRESETS)


@pytest.mark.parametrize("preset", list(ASPECT_PRESETS))
async def test_panel_magic_and_cli_agree_at_the_default_size(
    panel: KleinPanel, preset: str
) -> None:
    assert panel_size(panel, preset, DEFAULT_SIDE) == AT_1024[preset]
    assert magic_size(preset, DEFAULT_SIDE) == AT_1024[preset]
    assert cli_size(preset) == AT_1024[preset]
    assert size_for_aspect(preset) == AT_1024[preset]


@pytest.mark.parametrize("long_side", [256, 512, 768, 1280, 1536])
@pytest.mark.parametrize("preset", list(ASPECT_PRESETS))
async def test_panel_and_magic_agree_at_every_long_side(
    panel: KleinPanel, preset: str, long_side: int
) -> None:
    expected = size_for_aspect(preset, long_side)
    assert panel_size(panel, preset, long_side) == expected
    assert magic_size(preset, long_side) == expected


@pytest.mark.parametrize("preset", list(ASPECT_PRESETS))
def test_compare_uses_the_same_rule(client: KleinClient, preset: str) -> None:
    result = compare("a fox", seeds=[1], aspect=preset, client=client, display=False)
    assert (result.width, result.height) == size_for_aspect(preset, COMPARE_SIDE)
    assert result[0, 0].size == (result.width, result.height)  # type: ignore[union-attr]


def log_error(size: tuple[int, int], a: int, b: int) -> float:
    return abs(math.log(size[0] / size[1]) - math.log(a / b))


@given(
    a=st.integers(1, 60),
    b=st.integers(1, 60),
    long_side=st.integers(MIN_SIDE, MAX_SIDE),
)
@example(a=49, b=50, long_side=392)  # both sides round to 400: the longer one is the height
def test_the_rule_keeps_sizes_valid_and_the_ratio_closest(a: int, b: int, long_side: int) -> None:
    if max(a, b) / min(a, b) > MAX_SIDE / MIN_SIDE:
        with pytest.raises(ValueError, match=f"aspect {a}:{b} gives"):
            size_for_aspect((a, b), long_side)
        return
    width, height = size_for_aspect((a, b), long_side)
    assert width % SIDE_STEP == height % SIDE_STEP == 0
    assert MIN_SIDE <= min(width, height) <= max(width, height) <= MAX_SIDE
    assert size_for_aspect((b, a), long_side) == (height, width)  # a swap is a mirror
    # No neighbouring size with the same longer side keeps the ratio closer.
    if min(width, height) > MIN_SIDE:
        # The longer side is the aspect's (a:b), also where both round to one length.
        step = (0, SIDE_STEP) if a >= b else (SIDE_STEP, 0)
        for sign in (-1, 1):
            other = (width + sign * step[0], height + sign * step[1])
            assert log_error((width, height), a, b) <= log_error(other, a, b) + 1e-12
