"""The API key appears nowhere but the Authorization header.

With a distinctive key set, images are made through the client (sync and async), a
batch, resume, the panel, ``%klein`` and a real notebook; then every place a key could
leak is searched: reprs, snippets, synced widget state (every widget, recursively), the
saved .ipynb with its widget state, the gallery folder and its index, DEBUG logs of
httpx/httpcore/klein_widget, and the message of every error class, including errors from
a hostile server that echoes the key back. Prompts shown as HTML must be escaped.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from ipywidgets import Widget
from ipywidgets.widgets.widget import _instances as widget_instances
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

import klein_widget
from klein_widget import (
    APIConnectionError,
    APIStatusError,
    AsyncKleinClient,
    AuthenticationError,
    BudgetExceededError,
    GenerationFailedError,
    GenerationTimeoutError,
    InvalidRequestError,
    KleinClient,
    KleinError,
    RateLimitError,
    RetryPolicy,
)
from klein_widget.emulator import RunningEmulator, start
from klein_widget.ui._text import error_text
from tests.conftest import FAKE_KEY, fast_options
from tests.kernels import execute

WRONG_KEY = "wsk-wrong-77e1d0c9b8a7f6e5d4c3"  # a rejected key must not leak either
SECRETS = (FAKE_KEY, FAKE_KEY[-16:], WRONG_KEY, WRONG_KEY[-16:])
XSS = "<script>alert('k')</script> a fox"
SMALL = {"width": 256, "height": 256}
ERROR_CLASSES = {
    InvalidRequestError,
    BudgetExceededError,
    AuthenticationError,
    APIConnectionError,
    APIStatusError,
    RateLimitError,
    GenerationFailedError,
    GenerationTimeoutError,
    KleinError,
}


class Evidence:
    """Everything a user or a log could see, gathered as text or bytes, then searched."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str | bytes]] = []
        self.errors: set[type[BaseException]] = set()
        self.expect_logs = True  # False when the work ran in another process

    def add(self, where: str, value: Any) -> None:
        if isinstance(value, bytes | str):
            self.items.append((where, value))
        elif isinstance(value, BaseException):
            self.errors.add(type(value))
            text = [str(value), repr(value), repr(value.args), error_text(value)]
            text += traceback.format_exception(value)
            text += [repr(v) for v in vars(value).values()]
            self.items.append((where, "\n".join(text)))
        elif isinstance(value, dict | list | tuple):
            self.items.append((where, json.dumps(value, default=repr)))
        else:
            self.items.append((where, f"{value!r}\n{value}"))

    def add_folder(self, where: str, folder: Path) -> int:
        files = [p for p in folder.rglob("*") if p.is_file()]
        for path in files:
            self.add(f"{where}/{path.relative_to(folder)}", path.read_bytes())
        return len(files)

    def leaks(self) -> list[str]:
        found = []
        for where, value in self.items:
            haystack = value if isinstance(value, bytes) else value.encode("utf-8", "replace")
            found += [f"{where}: {s[:8]}…" for s in SECRETS if s.encode() in haystack]
        return found


def widget_states(root: Widget) -> list[dict[str, Any]]:
    """The synced state of ``root`` and every widget it refers to, recursively."""
    seen: dict[str, dict[str, Any]] = {}

    def visit(widget: Widget) -> None:
        if widget.model_id in seen:
            return
        state = widget.get_state()
        seen[widget.model_id] = state
        for value in state.values():
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, str) and item.startswith("IPY_MODEL_"):
                    child = widget_instances.get(item.removeprefix("IPY_MODEL_"))
                    if child is not None:
                        visit(child)

    visit(root)
    return list(seen.values())


def html_values(states: list[dict[str, Any]]) -> list[str]:
    """Values a front end renders as HTML (an HTML widget, or a description allowed HTML)."""
    out = []
    for state in states:
        if state.get("_model_name") in ("HTMLModel", "HTMLMathModel"):
            out.append(state.get("value", ""))
        if state.get("description_allow_html"):
            out.append(state.get("description", ""))
    return out


@pytest.fixture
def evidence() -> Iterator[Evidence]:
    """Collects evidence, with DEBUG logs of httpx, httpcore and klein_widget captured."""
    found = Evidence()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("httpx", "httpcore", "klein_widget", "")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
    yield found
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        found.add(f"log {record.name}", formatter.format(record) + repr(record.__dict__))
    if found.expect_logs:
        assert any(r.name == "httpx" for r in records), "httpx logging was not captured"
    assert found.leaks() == []


@pytest.fixture(scope="module")
def keyed_emulator() -> Iterator[RunningEmulator]:
    """A loopback emulator that accepts only FAKE_KEY, so a wrong key gets a real 401."""
    with start(port=0, inference_time=0.02, api_key=FAKE_KEY) as running:
        yield running


@pytest.fixture
def keyed_env(
    keyed_emulator: RunningEmulator, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> RunningEmulator:
    monkeypatch.setenv("WAVESPEED_BASE_URL", keyed_emulator.base_url)
    keyed_emulator.emulator.reset()
    return keyed_emulator


def _hostile(status: int, html: bool = False) -> Starlette:
    async def answer(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if html:
            return HTMLResponse(f"<html><body>{status} {auth}</body></html>", status)
        headers = {"Retry-After": "0"} if status == 429 else None
        body = {"code": status, "message": f"rejected {auth}", "detail": auth, "data": None}
        return JSONResponse(body, status_code=status, headers=headers)

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


def _hostile_envelope() -> Starlette:
    async def answer(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        return JSONResponse({"code": 500, "message": f"internal {auth}", "data": {"id": auth}})

    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])


def _provoke(evidence: Evidence, where: str, call: Any) -> None:
    try:
        call()
    except KleinError as error:
        evidence.add(where, error)
    else:
        pytest.fail(f"{where}: no error")


def test_client_batch_resume_gallery_and_errors(
    keyed_env: RunningEmulator, evidence: Evidence, isolated: Path, tmp_path: Path
) -> None:
    emu = keyed_env.emulator
    client = KleinClient(**fast_options())
    gen = client.generate(XSS, seed=1, **SMALL)
    for name, value in {
        "client": client,
        "generation": gen,
        "params": gen.params(),
        "spend": client.spend,
        "session": klein_widget.session(),
        "batch": client.generate_many(["a fox", "a cat"], seed=2, **SMALL),
    }.items():
        evidence.add(name, value)
    submitted = client.submit("a lost fox", seed=3, **SMALL)
    evidence.add("prediction", submitted)
    report = klein_widget.resume(KleinClient(**fast_options()))
    evidence.add("resume", report)
    past = klein_widget.history()
    evidence.add("history", past)
    page = past._repr_html_()
    evidence.add("history html", page)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;k&#x27;)&lt;/script&gt; a fox" in page
    evidence.add("gen saved", gen.save(tmp_path / "copy.png").read_bytes())

    # Every error class, each provoked for real.
    _provoke(evidence, "invalid", lambda: client.generate("a fox", width=1))
    _provoke(evidence, "budget", lambda: KleinClient(max_spend=0).generate("a fox"))
    _provoke(evidence, "no key", lambda: KleinClient(api_key="").generate("a fox"))
    wrong = KleinClient(api_key=WRONG_KEY, **fast_options())
    evidence.add("wrong client", wrong)
    _provoke(evidence, "401", lambda: wrong.generate("a fox", **SMALL))
    _provoke(
        evidence,
        "unreachable",
        lambda: KleinClient(base_url="http://127.0.0.1:9", **fast_options()).submit("x"),
    )
    emu.script("submit", "drop")
    _provoke(evidence, "dropped", lambda: client.generate("a fox", seed=4, **SMALL))
    emu.script("submit", 429)
    once = KleinClient(retry=RetryPolicy(max_attempts=1), poll=fast_options()["poll"])
    _provoke(evidence, "429", lambda: once.generate("a fox", **SMALL))
    emu.script("submit", 500)
    _provoke(evidence, "500", lambda: client.generate("a fox", **SMALL))
    emu.script("task", "fail")
    _provoke(evidence, "failed", lambda: client.generate("a fox", seed=5, **SMALL))
    # A deadline that the submit itself meets even on a busy machine (at 0.05 s a loaded one
    # sometimes ran out during the submit, a different error), and the image never does.
    emu.configure(inference_time=10.0)
    try:
        _provoke(evidence, "timeout", lambda: client.generate("a fox", timeout=1.0, **SMALL))
    finally:
        emu.configure(inference_time=0.02)
    _provoke(evidence, "unknown task", lambda: client.fetch("no-such-task"))
    _provoke(
        evidence,
        "batch refused",
        lambda: client.generate_many(["x"], confirm=False, confirm_over=0),
    )
    capped = KleinClient(max_spend=0.008, **fast_options()).generate_many(["p", "q"], **SMALL)
    assert len(capped.errors) == 1
    evidence.add("batch result", capped)
    evidence.add("batch error", capped.errors[0][1])
    _provoke(evidence, "batch", lambda: client.generate_many(["x", "y"], confirm_over=0.001))

    # A hostile server that echoes the key in every kind of answer.
    hostile = {
        "echo 401": _hostile(401),
        "echo 400": _hostile(400),
        "echo 422": _hostile(422),
        "echo 429": _hostile(429),
        "echo 500": _hostile(500),
        "echo 502 page": _hostile(502, html=True),
        "echo envelope": _hostile_envelope(),
    }
    for name, app in hostile.items():
        echo = KleinClient(
            base_url="http://hostile",
            http_client=TestClient(app, base_url="http://hostile"),
            retry=RetryPolicy(max_attempts=1),
            gallery=False,
        )
        _provoke(evidence, name, lambda echo=echo: echo.generate("a fox", **SMALL))
        _provoke(evidence, f"{name} result", lambda echo=echo: echo.get_result("abc"))
        _provoke(evidence, f"{name} enhance", lambda echo=echo: echo.enhance_prompt("a fox"))

    assert evidence.errors >= ERROR_CLASSES, ERROR_CLASSES - evidence.errors
    assert evidence.add_folder("gallery", isolated) >= 5
    assert (isolated / "index.sqlite3").exists()


async def test_async_client_errors(
    keyed_env: RunningEmulator, evidence: Evidence, isolated: Path
) -> None:
    async with AsyncKleinClient(**fast_options()) as client:
        gen = await client.generate("a fox", seed=1, **SMALL)
        evidence.add("async generation", gen)
        evidence.add("async client", client)
        evidence.add("async batch", await client.generate_many(["a", "b"], seed=1, **SMALL))
    for name, status in (("401", 401), ("429", 429), ("500", 500)):
        transport = httpx.ASGITransport(app=_hostile(status))
        async with httpx.AsyncClient(transport=transport, base_url="http://hostile") as http:
            echo = AsyncKleinClient(
                base_url="http://hostile",
                http_client=http,
                retry=RetryPolicy(max_attempts=1),
                gallery=False,
            )
            try:
                await echo.generate("a fox", **SMALL)
            except KleinError as error:
                evidence.add(f"async echo {name}", error)
    assert {AuthenticationError, RateLimitError, APIStatusError} <= evidence.errors
    evidence.add_folder("gallery", isolated)


@pytest.fixture
async def panel_session(keyed_env: RunningEmulator) -> AsyncIterator[RunningEmulator]:
    klein_widget.session().configure(**fast_options())
    yield keyed_env
    client = klein_widget.session()._async
    if client is not None:
        await client.aclose()


async def test_panel(panel_session: RunningEmulator, evidence: Evidence, isolated: Path) -> None:
    from klein_widget.widget._widget import KleinPanel

    panel = KleinPanel(prompt=XSS, width=256, height=256, seed=1)
    task = panel.generate()
    assert task is not None
    gen = await task
    assert gen is not None
    enhanced = panel.enhance()
    assert enhanced is not None
    await enhanced
    panel_session.emulator.script("task", "fail")
    panel.prompt = XSS
    panel.seed = 2  # seed 1 is in the gallery now: it would come back free
    failed = panel.generate()
    assert failed is not None
    assert await failed is None
    klein_widget.session().configure(api_key=WRONG_KEY)
    panel.seed = 3
    rejected = panel.generate()
    assert rejected is not None
    assert await rejected is None
    assert "rejected the API key" in panel.status

    states = widget_states(panel)
    assert states[0]["_model_name"] == "AnyModel"  # the panel is one anywidget
    evidence.add("panel state", states)
    evidence.add("all widgets", [w.get_state() for w in list(widget_instances.values())])
    evidence.add("panel", panel)
    evidence.add("snippets", panel.snippets)
    assert panel.snippets
    evidence.add("status", panel.status)
    for html in html_values(states):
        assert "<script" not in html.lower()
    assert "&lt;script&gt;" in panel._fallback  # the saved-notebook picture escapes it
    evidence.add_folder("gallery", isolated)
    panel.close()


def test_magic(keyed_env: RunningEmulator, evidence: Evidence, isolated: Path) -> None:
    shell = InteractiveShell.instance()
    klein_widget.session().configure(**fast_options())
    cells = [
        "%load_ext klein_widget",
        "%klein a red fox -W 256 -H 256 -s 1",
        f"%%klein -W 256 -H 256 -s 2\n{XSS}\n",
        "foxes = %klein a fox -n 2 -W 256 -H 256 -s 3",
        "%klein a fox -W 100",
        "%config KleinMagics",
        "%klein?",
    ]
    keyed_env.emulator.script("task", "ok", "ok", "ok", "ok", "fail")
    cells.append("%klein a doomed fox -W 256 -H 256 -s 9")
    for cell in cells:
        with capture_output() as captured:
            result = shell.run_cell(cell)
        evidence.add(f"{cell} stdout", captured.stdout)
        evidence.add(f"{cell} stderr", captured.stderr)
        for output in captured.outputs:
            evidence.add(f"{cell} output", output.data)
            html = output.data.get("text/html", "")
            assert "<script" not in html.lower(), cell
        evidence.add(f"{cell} result", result.result)
        if result.error_in_exec is not None:
            evidence.add(f"{cell} error", result.error_in_exec)
    evidence.add("user_ns", {k: repr(v) for k, v in shell.user_ns.items() if k == "foxes"})
    assert klein_widget.session().spend.images >= 4
    evidence.add_folder("gallery", isolated)


NOTEBOOK_CELLS = [
    # The kernel's DEBUG logs go into the notebook's outputs, so they are searched too.
    "import logging, sys\n"
    "handler = logging.StreamHandler(sys.stdout)\n"
    "for name in ('httpx', 'httpcore', 'klein_widget'):\n"
    "    logging.getLogger(name).setLevel(logging.DEBUG)\n"
    "    logging.getLogger(name).addHandler(handler)",
    "import klein_widget\nfrom klein_widget import KleinClient, PollSchedule\n"
    "fast = {'poll': PollSchedule(fast=0.005, cap=0.05)}\n"
    "klein_widget.connect()\nklein_widget.session().configure(**fast)",
    f"panel = klein_widget.panel(prompt={XSS!r}, width=256, height=256, seed=1)\npanel",
    "gen = await panel.generate()\nprint(gen)",
    "%load_ext klein_widget",
    "%klein a red fox -W 256 -H 256 -s 2",
    "client = KleinClient(**fast)\n"
    "client.generate_many(['a fox', 'a cat'], width=256, height=256, seed=3)",
    "klein_widget.history()",
    "klein_widget.session()",
    "client",
    "import os\n"
    "try:\n    KleinClient(api_key=os.environ['WRONG_KEY']).generate('x', width=256)\n"
    "except klein_widget.KleinError as e:\n    print(repr(e), e)",
    "panel.snippets",
]


def test_saved_notebook_with_widget_state(
    keyed_env: RunningEmulator,
    evidence: Evidence,
    isolated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WRONG_KEY", WRONG_KEY)  # the kernel reads it: it is in no cell
    # Here, not at the top: nbformat (jsonschema's grammars) costs every process that
    # collects this file over a CPU-second, and only this slow test uses it.
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    execute(
        notebook,
        timeout=60,
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    evidence.expect_logs = False
    saved = tmp_path / "saved.ipynb"
    nbformat.write(notebook, saved)

    text = saved.read_text()
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(m["model_name"] == "AnyModel" for m in state.values())  # the panel was stored
    assert "IntProgressModel" in text  # and the batch's progress bar
    assert "Done in" in text
    assert "HTTP Request: POST" in text  # the kernel's httpx log lines
    assert "send_request_headers" in text  # and httpcore's
    assert "AuthenticationError" in text
    html_states = html_values([m["state"] for m in state.values()])
    assert all("<script" not in h.lower() for h in html_states)
    outputs = [o for c in notebook.cells for o in c.get("outputs", [])]
    assert all("<script" not in o.get("data", {}).get("text/html", "") for o in outputs)
    evidence.add("saved notebook", text)
    assert evidence.add_folder("gallery", isolated) >= 5
