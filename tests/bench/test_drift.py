"""`bench` names every figure more than 20% off its last recording in RESULTS.md, and every
text gives it the same duration."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import run
from bench._config import PRESETS
from bench._drift import drift_lines, recorded_figures, section_figures
from bench._report import Section
from bench.run import BEGIN, END, RESULTS

ROOT = Path(__file__).resolve().parents[2]


def imports_section(klein_ms: float) -> Section:
    section = Section("imports", "4. Import time (run 7)", "import httpx", ["median", "ratio"])
    section.add("import httpx", {"median": "80.0 ms", "ratio": "1.00x"})
    ratio = klein_ms / 80
    section.add(
        "import klein_widget",
        {"median": f"{klein_ms:.1f} ms", "ratio": f"{ratio:.2f}x"},
        ratio=ratio,
        target=1.5,
    )
    return section


def test_a_figure_more_than_20_percent_off_gets_a_line_and_a_close_one_none() -> None:
    recorded = recorded_figures(imports_section(100.0).markdown())
    moved = drift_lines(recorded, section_figures([imports_section(130.0)]))
    assert moved == [
        "   4. import klein_widget / median: 130.0 ms, recorded 100.0 ms (+30%)",
        "   4. import klein_widget / ratio: 1.62x, recorded 1.25x (+30%)",
    ]
    assert drift_lines(recorded, section_figures([imports_section(110.0)])) == []


def test_the_recorded_block_of_results_md_is_read() -> None:
    block = RESULTS.read_text().partition(BEGIN)[2].partition(END)[0]
    recorded = recorded_figures(block)
    assert "import klein_widget" in recorded["4."]
    assert recorded["4."]["import klein_widget"]["ratio"].endswith("x")


def test_every_text_gives_the_bench_the_same_duration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    full, quick = PRESETS["full"].takes, PRESETS["quick"].takes
    guide = (ROOT / "docs" / "DEVELOPMENT.md").read_text()  # where the README sends readers
    assert f"python -m bench            # {full}; --quick: {quick}" in guide
    for text in (RESULTS.read_text(), run.__doc__ or ""):
        assert f"python -m bench            # the full run, {full}" in text
        assert f"python -m bench --quick    # {quick}" in text
    with pytest.raises(SystemExit):
        run.main(["--help"])
    assert f"short run ({quick})" in capsys.readouterr().out
