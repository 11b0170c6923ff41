"""Which tests are slow (`-m "not slow"`, the day-to-day loop, leaves them out) and the
order xdist workers run them in; tests/conftest.py's collection hooks apply both."""

from __future__ import annotations

import pytest

__all__ = ["LONGEST_FIRST", "READ_LATER", "SLOW", "SLOW_FIXTURES", "WHOLLY_SLOW", "rank"]

# The slow tests (kernels, subprocesses, browsers, builds, hypothesis over real HTTP, waits
# for real timeouts), by module or test id prefix: marked `slow`, so `-m "not slow"` is the
# day-to-day loop. Browser and packaging tests are slow too.
SLOW = (
    # builds, bench runs, browsers, kernels
    "tests/test_packaging.py",
    "tests/test_home.py",
    "tests/bench/test_bench_smoke.py",
    "tests/browser/",
    "tests/lessons/test_grid_browser.py",  # browser-marked; here so -m "not slow" skips its import
    "tests/notebooks/test_lesson_pack.py",
    "tests/notebooks/test_notebooks.py::test_running",
    "tests/notebooks/test_notebooks.py::test_quickstart",
    "tests/notebooks/test_notebooks.py::test_prompt",
    "tests/notebooks/test_notebooks.py::test_seeds",
    "tests/notebooks/test_notebooks.py::test_classroom",
    "tests/magic/test_notebook.py",
    "tests/store/test_notebook.py",
    "tests/emulator/test_server.py::test_start_inside_a_real_jupyter_kernel",
    "tests/lessons/test_compare.py::test_in_a_kernel",
    "tests/panel/test_fallback.py::test_a_saved_notebook",
    "tests/test_key_hygiene.py::test_saved_notebook",
    # hypothesis over real HTTP or many examples
    "tests/hostile/test_properties.py",
    "tests/gateway/test_properties.py",
    "tests/store/test_validation_properties.py",
    "tests/magic/test_magic_args.py::test_format_then_parse",
    # real waits for rate windows
    "tests/client/test_rate_limits.py",
    # `klein`, `klein emulator` and `klein gateway` as processes
    "tests/unit/test_cli.py::test_generate",
    "tests/unit/test_cli.py::test_python_m",
    "tests/unit/test_cli.py::test_random_seed",
    "tests/unit/test_cli.py::test_progress",
    "tests/unit/test_cli.py::test_out_is",
    "tests/unit/test_cli.py::test_with_the_gallery_off",
    "tests/unit/test_cli.py::test_an_out",
    "tests/unit/test_cli.py::test_a_server",
    "tests/unit/test_cli.py::test_aspect",
    "tests/unit/test_cli.py::test_failed_task",
    "tests/unit/test_cli.py::test_enhance",
    "tests/unit/test_cli.py::test_connect_without",
    "tests/unit/test_cli.py::test_klein_emulator_without",
    "tests/unit/test_cli.py::test_a_fixed_seed",
    "tests/unit/test_cli.py::test_a_timeout",
    "tests/unit/test_cli.py::test_sync_and_base64",
    "tests/unit/test_cli_pack.py",
    "tests/emulator/test_server.py::test_cli",
    "tests/emulator/test_packs.py::test_klein_emulator",
    "tests/gateway/test_students.py::test_the_cli",
    "tests/gateway/test_students.py::test_serve_prints",
    "tests/gateway/test_startup.py",
    "tests/gateway/test_pack.py",
    "tests/store/test_batch.py::test_terminal_confirmation",
    "tests/store/test_batch.py::test_no_stdin",
    "tests/panel/test_snippets.py::test_cli_snippet",
    # a class of hostile clients against a served gateway (29 s at load 20)
    "tests/gateway/hostile_class/test_client_faults.py::test_wrong_tokens",
    # real waits: a 5 s download grace, a class against a slowed database (about 5 s)
    "tests/hostile/test_deadlines.py::test_slow_trickling",
    "tests/gateway/hostile_class/test_loop_stall.py",
    # Waits out real time by design: a test that spends 1.5 s or more waiting for a clock (a
    # deadline it must outlast, a rate window, a queue of simulated inference, a subprocess
    # that does the same), measured on a quiet machine in the whole suite (-n 4) as >= 1.5 s
    # of wall with less than a quarter of it CPU (2026-12-07; re-checked against the whole
    # suite's profile after the hostile tests' stall timeout became 0.75 s, which took two
    # out). Every one of them, whoever owns it; each folder keeps many quicker tests in the
    # quick loop.
    "tests/client/test_event_loop.py::test_a_slow_disk_never_stalls_the_loop",
    "tests/gateway/hostile_class/test_store_and_history.py::test_an_image_the_store_could_not",
    "tests/gateway/hostile_class/test_upstream_faults.py::test_a_fault_family_never_charges_for"
    "_nothing_nor_loses_a_paid_image[result-(503, 503, 503, 503,",
    "tests/gateway/hostile_class/test_upstream_faults.py::test_a_result_endpoint_down_for",
    "tests/gateway/hostile_class/test_upstream_faults.py::test_an_unreadable_history_keeps",
    "tests/gateway/hostile_class/test_upstream_faults.py::test_one_hanging_submit",
    "tests/gateway/test_fairness.py::test_429s_teach_the_gateway",
    "tests/gateway/test_fairness.py::test_one_students_grid_does_not_starve_another",
    "tests/gateway/test_key_hygiene.py::test_a_canary_key_appears_nowhere",
    "tests/hostile/test_deadlines.py::test_only_a_download_gets_the_grace",
    "tests/hostile/test_deadlines.py::test_the_deadline_check_fails_on_a_slow_call",
    "tests/lessons/test_compare.py::test_requests_overlap",
    "tests/panel/test_panel.py::test_status_and_progress_update_live_while_waiting",
    "tests/panel/test_snippets.py::test_curl_snippet_runs",
    "tests/panel/test_snippets_edit.py::test_the_curl_edit_script",
    "tests/store/test_batch.py::test_async_batch_sees_429s_the_client_retries",
    "tests/store/test_batch.py::test_batch_adapts_to_the_accounts_concurrency",
    "tests/store/test_batch.py::test_batch_under_a_rate_limit_backs_off_and_finishes",
    "tests/test_key_hygiene.py::test_client_batch_resume_gallery_and_errors",
)
# Every test that reads a lesson's run (the `lessons` fixture of tests/notebooks) is slow
# too: the first to ask runs the lesson in a kernel, whichever lesson a new test reads.
SLOW_FIXTURES = ("lessons",)
# The longest first under xdist, so they overlap with the many short ones instead of
# leaving one worker busy at the end; the first ones also make the results others share
# (`run_once`: the build, the bench run, the lessons' first runs).
LONGEST_FIRST = (
    "tests/test_packaging.py::test_the_wheel",
    "tests/bench/test_bench_smoke.py::test_every_section",
    "tests/browser/",
    "tests/test_home.py",
    "tests/notebooks/test_notebooks.py::test_running",
    "tests/hostile/test_properties.py",
    "tests/gateway/test_properties.py",
    "tests/gateway/test_students.py::test_the_cli",
    "tests/unit/test_cli.py",
    # the quick loop's longest (a subprocess each, or many images): first among the quick
    # ones, so the loop does not end on one worker running them alone
    "tests/session/test_place.py::test_a_script_that_imports_ipykernel",
    "tests/panel/test_snippets_edit.py::test_the_python_and_cli_edit",
    "tests/panel/test_history.py::test_strip_is_bounded",
    "tests/store/test_gallery.py::test_concurrent_processes",
    "tests/unit/test_unique_names.py",
)
# Tests that read such a shared result: last, so no worker sits waiting for it.
READ_LATER = ("tests/bench/", "tests/test_packaging.py::test_sdist", "tests/notebooks/")


# The entries of `SLOW` that name a whole file or folder (no test id).
WHOLLY_SLOW = frozenset(prefix for prefix in SLOW if "::" not in prefix)


def rank(item: pytest.Item) -> int:
    """Where a test goes in an xdist worker's order: `LONGEST_FIRST` first, `READ_LATER` last."""
    for rank, prefix in enumerate(LONGEST_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(LONGEST_FIRST) + item.nodeid.startswith(READ_LATER)
