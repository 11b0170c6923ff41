"""Serving: the background runner (scripts, running event loops, a real kernel) and the CLI."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time

import httpx
import pytest

from klein_widget.emulator import Faults, RunningEmulator, Settings, start
from klein_widget.emulator.cli import KNOB_FLAGS, build_parser, settings_from
from tests.kernels import execute
from tests.stopping import stopped_later

from .conftest import AUTH, SUBMIT, body


def test_start_serves_on_a_free_port_and_stops() -> None:
    with start(port=0, inference_time=0.01) as live:
        assert isinstance(live, RunningEmulator)
        assert live.base_url.startswith("http://127.0.0.1:")
        assert not live.base_url.endswith(":0")
        assert repr(live).endswith("running>")
        info = httpx.get(f"{live.base_url}/").json()
        assert info["name"] == "klein emulator"
    assert not live.running
    live.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{live.base_url}/", timeout=1)


def test_two_emulators_side_by_side() -> None:
    with (
        stopped_later(start(inference_time=0.01)) as a,
        stopped_later(start(inference_time=0.01, api_key="k")) as b,
    ):
        assert a.base_url != b.base_url
        assert httpx.post(f"{a.base_url}{SUBMIT}", json=body(), headers=AUTH).status_code == 200
        assert httpx.post(f"{b.base_url}{SUBMIT}", json=body(), headers=AUTH).status_code == 401
        assert (a.emulator.accepted, b.emulator.accepted) == (1, 0)


async def test_start_inside_a_running_event_loop() -> None:
    # As in a Jupyter kernel: this thread already runs a loop.
    with stopped_later(start(inference_time=0.01)) as live:
        async with httpx.AsyncClient(base_url=live.base_url, headers=AUTH) as http:
            data = (await http.post(SUBMIT, json=body(enable_sync_mode=True))).json()["data"]
            image = await http.get(data["outputs"][0])
    assert image.content.startswith(b"\x89PNG")


def test_start_inside_a_real_jupyter_kernel() -> None:
    # Here, not at the top: nbformat (jsonschema's grammars) costs every process that
    # collects this file over a CPU-second, and only this slow test uses it.
    import nbformat

    cells = [
        "from klein_widget.emulator import start\nrunning = start(inference_time=0.01)",
        "import httpx\n"
        f"r = httpx.post(running.base_url + {SUBMIT!r}, headers={{'Authorization': 'Bearer k'}},\n"
        "               json={'prompt': 'a fox', 'size': '256*256', 'seed': 1,\n"
        "                     'enable_sync_mode': True})\n"
        "print(r.json()['data']['status'], running.emulator.accepted)",
        "running.stop()\nprint(running.running)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    execute(nb, timeout=60)
    assert nb.cells[1].outputs[0]["text"].strip() == "completed 1"
    assert nb.cells[2].outputs[0]["text"].strip() == "False"


def test_cli_flags_cover_every_knob() -> None:
    args = build_parser().parse_args(
        shlex.split(
            "--host 0.0.0.0 --port 9000 --inference-time 0.1 --api-key k --concurrency 2 "
            "--rate-limit 5 --sync-timeout 3 --seed 7 --fail-rate 0.1 --result-error-rate 0.2 "
            "--result-error-status 500 --drop-rate 0.05 --sync-timeout-rate 0.3 "
            "--sync-timeout-style body --nsfw-rate 0.01"
        )
    )
    assert (args.host, args.port, args.inference_time, args.api_key) == ("0.0.0.0", 9000, 0.1, "k")
    assert (args.concurrency, args.rate_limit, args.sync_timeout, args.seed) == (2, 5, 3.0, 7)
    assert (args.fail_rate, args.result_error_rate, args.result_error_status) == (0.1, 0.2, 500)
    assert (args.drop_rate, args.sync_timeout_rate, args.sync_timeout_style) == (0.05, 0.3, "body")
    assert args.nsfw_rate == 0.01
    assert build_parser().parse_args([]).port == 8765
    # Every flag that names a knob reaches the settings, and no default is written twice.
    made = settings_from(args)
    assert (made.inference_time, made.api_key, made.concurrency, made.seed) == (0.1, "k", 2, 7)
    assert made.faults == Faults(0.2, 500, 0.05, 0.1, 0.3, "body", 0.01)
    assert settings_from(build_parser().parse_args([])) == Settings(faults=Faults())
    assert set(vars(args)) >= KNOB_FLAGS


@pytest.mark.parametrize("flags", [["--fail-rate", "2"], ["--concurrency", "0"], ["--bogus"]])
def test_cli_rejects_bad_flags(flags: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "klein_widget.emulator", *flags],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "usage:" in done.stderr


def test_cli_serves_with_its_flags_and_stops_cleanly_on_ctrl_c() -> None:
    cmd = [
        sys.executable,
        "-m",
        "klein_widget.emulator",
        "--port",
        "0",
        "--inference-time",
        "0.01",
        "--api-key",
        "k",
        "--rate-limit",
        "1",
        "--fail-rate",
        "1",
        "--sync-timeout-rate",
        "1",
        "--sync-timeout-style",
        "body",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("klein emulator listening on http://127.0.0.1:")
        exports = [proc.stdout.readline().strip() for _ in range(4)]
        [export] = [e for e in exports if e.startswith("export WAVESPEED_BASE_URL=")]
        url = export.split("=", 1)[1]
        assert url in line  # the line to paste is the address it listens on
        with httpx.Client(base_url=url) as http:
            wrong = http.post(SUBMIT, json=body(), headers={"Authorization": "Bearer x"})
            key = {"Authorization": "Bearer k"}
            first = http.post(SUBMIT, json=body(enable_sync_mode=True), headers=key).json()
            second = http.post(SUBMIT, json=body(), headers=key)
            task_id = first["data"]["id"]
            for _ in range(300):
                data = http.get(f"/api/v3/predictions/{task_id}/result", headers=key).json()
                if data["data"]["status"] != "processing":
                    break
                time.sleep(0.01)
        assert wrong.status_code == 401
        assert first["data"]["code"] == 5004  # --sync-timeout-rate 1, --sync-timeout-style body
        assert data["data"]["status"] == "failed"  # --fail-rate 1
        assert second.status_code == 429  # --rate-limit 1
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "klein emulator stopped" in out
    assert "Traceback" not in err


def test_images_are_drawn_during_the_simulated_inference() -> None:
    """A real server has the image ready when it says completed; so does the emulator: it
    draws the image while the task runs, before anyone asks for it."""
    # The drawing's wall time is the machine's (0.1 CPU-s for 1536x1536; over 1 s at load
    # 20), so the test waits for the drawing itself, and the inference outlasts that wait:
    # done while the task is still processing means done during the inference.
    with stopped_later(start(port=0, inference_time=60.0)) as running, httpx.Client() as http:
        answer = http.post(
            running.base_url + "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image",
            json={"prompt": "a fox", "size": "1536*1536", "seed": 5},
            headers={"Authorization": "Bearer k"},
        ).json()
        task = running.emulator.tasks[answer["data"]["id"]]
        deadline = time.monotonic() + 30
        while not task.prerendered and time.monotonic() < deadline:
            time.sleep(0.01)
        assert task.prerendered
        assert task.status(time.monotonic()) == "processing"
        assert running.emulator.count("GET") == 0  # nobody asked for it
