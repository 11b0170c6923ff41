"""The benchmarks still run: ``python -m bench --smoke`` end to end, checking structure only.

Benchmarks are not tests: nothing here looks at a time. This runs every benchmark with
tiny counts and a tiny inference time (every section, as two ``--only`` groups at once),
and checks that each prints its figures as ratios to its baseline and writes them to JSON,
so the bench cannot rot unnoticed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench._edit import EDIT, EDIT_LIMIT
from tests.conftest import run_once

ROOT = Path(__file__).resolve().parents[2]
RATIO = re.compile(r"\b\d+\.\d\dx\b")
TITLES = {
    "single": "1. One 1024x1024 image",
    "requests": "2. HTTP requests per image",
    "batch": "3. A batch of",
    "imports": "4. Import time",
    "memory": "5. Kernel memory",
    "cpu": "6. Client CPU time per image",
    "latency": "7. One 512x512 image over a network",
    "inline": "7b. The image inline",
    "load": "8. Client CPU per image at concurrency",
    "stall": "10. Event-loop stall",
}


# The smoke run's sections in two groups of about equal length, run at once: each section
# mostly waits (inference times, round trips), so two halves take about half of one
# `python -m bench --smoke`. Each group pays for one interpreter and one emulator process,
# so there are no more groups than the waits need.
GROUPS = ("latency,imports,stall", "single,batch,cpu,load,memory")


def _run_smoke(folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAVESPEED_")}
    runs = []
    for n, only in enumerate(GROUPS):
        out = folder / f"figures-{n}.json"
        command = [sys.executable, "-m", "bench", "--smoke", "--only", only, "--json", str(out)]
        log = (folder / f"stdout-{n}.txt").open("w")
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        runs.append((proc, log, out))
    stdouts, sections, machine = [], [], None
    for proc, log, out in runs:
        try:
            proc.wait(timeout=300)
        finally:
            proc.kill()  # only if it overran
            log.close()
        stdout = Path(log.name).read_text()
        assert proc.returncode == 0, stdout
        data = json.loads(out.read_text())
        machine = machine or data["machine"]
        sections += data["sections"]
        stdouts.append(stdout)
    (folder / "stdout.txt").write_text("\n".join(stdouts))
    (folder / "figures.json").write_text(json.dumps({"machine": machine, "sections": sections}))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """One smoke run of every section per test run, whichever xdist worker asks first."""
    folder = run_once(tmp_path_factory, "bench-smoke", _run_smoke)
    return (folder / "stdout.txt").read_text(), json.loads((folder / "figures.json").read_text())


def _section_text(stdout: str, title: str) -> str:
    start = stdout.index(f"== {title}")
    end = stdout.find("\n== ", start + 1)
    return stdout[start : end if end != -1 else None]


def test_every_section_prints_ratios_against_its_baseline(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    stdout, _ = smoke
    for title in TITLES.values():
        text = _section_text(stdout, title)
        assert "baseline:" in text, text
        table = [line for line in text.splitlines()[2:] if not line.lstrip().startswith("- ")]
        rows_with_ratio = [line for line in table[1:] if RATIO.search(line)]
        assert len(rows_with_ratio) >= 1, text
    assert "== targets ==" in stdout


def test_the_contenders_are_all_there(smoke: tuple[str, dict[str, Any]]) -> None:
    stdout, _ = smoke
    single = _section_text(stdout, TITLES["single"])
    for name in ("klein_widget polling", "klein_widget sync_mode", "wavespeed SDK run()"):
        assert name in single
    batch = _section_text(stdout, TITLES["batch"])
    assert "generate_many" in batch
    assert "wavespeed SDK" in batch


def test_json_has_each_section_with_numeric_ratios(smoke: tuple[str, dict[str, Any]]) -> None:
    _, data = smoke
    assert data["machine"]["cores"] >= 1
    assert data["machine"]["python"]
    sections = {s["key"]: s for s in data["sections"]}
    assert set(sections) == set(TITLES)
    for key, section in sections.items():
        assert section["rows"], key
        for row in section["rows"]:
            assert row["values"], (key, row["label"])
            assert all(isinstance(v, int | float) for v in row["values"].values())
            if row["target"] is not None:
                assert isinstance(row["ratio"], float)
                assert row["verdict"] in ("met", "MISSED")


def test_importing_the_package_loads_no_widget_stack(smoke: tuple[str, dict[str, Any]]) -> None:
    _, data = smoke
    imports = {s["key"]: s for s in data["sections"]}["imports"]
    row = next(r for r in imports["rows"] if r["label"] == "import klein_widget")
    assert row["values"]["forbidden_loaded"] == 0


def test_latency_has_every_mode_at_every_round_trip_as_a_ratio_to_the_limit(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    stdout, data = smoke
    text = _section_text(stdout, TITLES["latency"])
    assert "physical limit" in text
    rows = {s["key"]: s for s in data["sections"]}["latency"]["rows"]
    modes = (
        "klein_widget generate()",
        "klein_widget generate(), image as URL",
        "klein_widget sync_mode",
        "klein_widget sync_mode + base64",
        "wavespeed SDK run()",
        EDIT,  # issue 24: upload + submit + poll + download, against the edit's own limit
    )
    for rtt in ("0 ms", "50 ms"):  # the smoke preset's round trips
        for mode in modes:
            (row,) = [r for r in rows if r["label"] == f"{mode} @ {rtt}"]
            assert RATIO.fullmatch(row["cells"]["vs limit"]), row
            assert row["values"]["vs_limit"] > 0
            line = next(x for x in text.splitlines() if f"{mode} @ {rtt}" in x)
            assert RATIO.search(line), line
        limit = next(r for r in rows if r["label"].startswith("limit:") and rtt in r["label"])
        assert limit["values"]["vs_limit"] == 1.0
        assert limit["values"]["nominal_s"] >= limit["values"]["rtt_s"]
        (edit_limit,) = [r for r in rows if r["label"] == f"{EDIT_LIMIT} @ {rtt}"]
        assert edit_limit["values"]["vs_limit"] == 1.0
        (edit,) = [r for r in rows if r["label"] == f"{EDIT} @ {rtt}"]
        assert edit["values"]["limit_s"] == edit_limit["values"]["median_s"]
        assert edit["ratio"] == edit["values"]["vs_limit"]  # the target is of the edit's limit


def test_load_reports_cpu_with_and_without_sniffio_and_the_big_batch(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    stdout, data = smoke
    text = _section_text(stdout, TITLES["load"])
    labels = [r["label"] for r in {s["key"]: s for s in data["sections"]}["load"]["rows"]]
    assert any(label.endswith("sniffio not installed") for label in labels), labels
    if importlib.util.find_spec("sniffio") is not None:
        assert any(label.endswith("sniffio importable") for label in labels), labels
    assert "peak RSS" in text
    assert "images/s" in text
    rows = {s["key"]: s for s in data["sections"]}["load"]["rows"]
    assert rows[-1]["values"]["peak_rss_mb"] >= rows[-1]["values"]["rss_warm_mb"] > 0
    assert all(r["values"]["cpu_ms"] > 0 for r in rows)


def test_inline_is_weighed_against_a_download_at_every_size(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    _, data = smoke
    rows = {s["key"]: s for s in data["sections"]}["inline"]["rows"]
    for size in (256, 512, 1024, 1536):
        for mode in ("inline", "download"):
            (row,) = [r for r in rows if r["label"] == f"{size}x{size} {mode}"]
            assert RATIO.fullmatch(row["cells"]["vs download"]), row
            assert row["values"]["cpu_ms"] > 0


def test_load_measures_the_aiohttp_pool_when_it_is_installed(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    _, data = smoke
    labels = [r["label"] for r in {s["key"]: s for s in data["sections"]}["load"]["rows"]]
    if importlib.util.find_spec("httpx_aiohttp") is not None:
        assert any("httpx-aiohttp" in label for label in labels), labels
    assert any("gallery on" in label for label in labels), labels


def test_the_stall_row_measures_both_loops_with_no_slow_call_on_them(
    smoke: tuple[str, dict[str, Any]],
) -> None:
    stdout, data = smoke
    assert "< 100 ms" in _section_text(stdout, TITLES["stall"])
    rows = {s["key"]: s for s in data["sections"]}["stall"]["rows"]
    assert [r["label"].split(",")[0] for r in rows] == ["client", "gateway"]
    for row in rows:
        assert row["values"]["calls"] > 0, row  # the work went through the slow disk
        assert row["values"]["on_loop"] == 0, row  # and none of it on the loop's thread
        assert row["values"]["worst_ms"] > 0, row
