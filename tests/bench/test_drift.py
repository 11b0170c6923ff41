"""`bench` names every figure more than 20% off its last recording in RESULTS.md."""

from __future__ import annotations

from bench._drift import drift_lines, recorded_figures, section_figures
from bench._report import Section
from bench.run import BEGIN, END, RESULTS


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
