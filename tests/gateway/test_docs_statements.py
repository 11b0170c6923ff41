"""Statements of docs/GATEWAY.md that no other test exercised (issue 22's audit): the limits
table's defaults are the code's and the page's, the teacher's token is new at each start and
an HttpOnly, SameSite=Strict cookie, settling never guesses between two candidates or an
item without its input, and a student's 51st hand-in is refused."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

from klein_widget.client._models import GenerationRequest
from klein_widget.gateway import RunningGateway, start
from klein_widget.gateway._aftercare import Aftercare, verdict
from klein_widget.gateway._app import server_for
from klein_widget.gateway._checks import MIN_FREE_BYTES
from klein_widget.gateway._classwork import HAND_IN_MAX_BYTES, HAND_IN_PATH, HAND_INS_PER_STUDENT
from klein_widget.gateway._conn import Limits, connections_for
from klein_widget.gateway._state import DEFAULT_MAX_BODY_BYTES_GATEWAY, Gateway
from klein_widget.gateway._tokens import FailedLogins
from klein_widget.gateway._uploads import UploadLimits
from tests.gateway import loopback
from tests.gateway.conftest import bearer
from tests.stopping import stopped_later

GATEWAY_MD = (Path(__file__).resolve().parents[2] / "docs" / "GATEWAY.md").read_text("utf-8")


def _default(fn: object, name: str) -> object:
    return inspect.signature(fn).parameters[name].default  # type: ignore[arg-type]


def test_the_limits_table_is_the_codes_defaults() -> None:
    limits, logins, uploads = Limits(), FailedLogins(), UploadLimits()
    said = {  # what the page says -> what the code has
        "| 10 s, 16 KiB |": (limits.head_timeout, limits.max_head_bytes) == (10.0, 16 << 10),
        "| 5 s | closed |": limits.keep_alive == 5,
        "64 KiB (a hand-in's pack: 64 MB), 30 s": (
            DEFAULT_MAX_BODY_BYTES_GATEWAY == 64 << 10
            and HAND_IN_MAX_BYTES == 64 << 20
            and limits.body_timeout == 30.0
        ),
        "open-file limit \u2212 112, at most 8,192": (
            connections_for(1112) == 1000 and connections_for(10**6) == 8192
        ),
        "| 64 | keeps a burst": limits.backlog == 64,
        "20 a minute each, 600 a minute in all, 4,096 remembered": (
            (_default(FailedLogins, "limit"), _default(FailedLogins, "window")) == (20, 60.0)
            and (logins.overall, logins.cap) == (600, 4096)
        ),
        "20 MB a file; 60 tickets and 200 MB an hour": (
            (uploads.max_bytes, uploads.per_hour, uploads.bytes_per_hour)
            == (20 << 20, 60, 200 << 20)
        ),
        "| 20 MB, 20 s |": uploads.fetch_timeout == 20.0,
        "200 MB free at start": MIN_FREE_BYTES == 200 << 20,
        "The\n  first look waits 10 s (`settle_after`)": _default(Gateway, "settle_after") == 10.0,
        "(backoff from 1 s,\n  doubling to 60 s)": _default(Gateway, "max_backoff") == 60.0,
        "for up to 7 days": _default(Aftercare, "retention") == 7 * 86400,
        "50 hand-ins per student": HAND_INS_PER_STUDENT == 50,
    }
    for text, holds in said.items():
        assert text in GATEWAY_MD, text
        assert holds, text


def test_uvicorn_gets_the_tables_caps(tmp_path: Path) -> None:
    """ "requests in progress: the connection cap + 1 (uvicorn's 503)", the backlog, the
    head and keep-alive limits: as `serve` configures uvicorn."""
    with stopped_later(
        start(tmp_path / "class.sqlite3", upstream="emulator", limits=Limits(max_connections=99))
    ) as gw:
        config = server_for(gw.app).config
    assert config.limit_concurrency == 100
    assert config.backlog == 64
    assert config.timeout_keep_alive == 5
    assert config.h11_max_incomplete_event_size == 16 << 10
    assert config.access_log is False  # "the gateway writes no access log"
    assert "| requests in progress | the connection cap + 1 | uvicorn's 503 |" in GATEWAY_MD


def test_the_teacher_token_is_new_at_each_start_and_a_strict_httponly_cookie(
    tmp_path: Path,
) -> None:
    tokens = []
    for _ in range(2):
        with start(tmp_path / "class.sqlite3", upstream="emulator") as gw:
            tokens.append(gw.gateway.teacher_token)
            login = loopback.get(f"{gw.base_url}/dashboard?token={gw.gateway.teacher_token}")
            cookie = login.headers["set-cookie"].lower()
            assert login.status_code in (302, 303, 307)  # the token leaves the address bar
            assert "httponly" in cookie
            assert "samesite=strict" in cookie
            stored = gw.gateway.db.setting("teacher_token_hash")
            assert stored is not None
            assert gw.gateway.teacher_token not in stored  # only its hash is kept
    assert tokens[0] != tokens[1]
    assert "The dashboard's teacher token is new at each start" in GATEWAY_MD


ASKED = GenerationRequest("a fox", 320, 256, 7)
SAME = {"prompt": "a fox", "size": "320*256", "seed": 7}


def test_settling_never_guesses() -> None:
    """ "a prediction with exactly the task's prompt, size and seed that no other task owns
    is taken as it"; "anything the gateway cannot tell apart (a history item without its
    input, two candidates ...) keeps the task pending"."""
    one = [{"id": "a", "input": SAME}, {"id": "b", "input": {**SAME, "seed": 8}}]
    assert verdict(one, ASKED, owned=set()) == ("found", "a")
    assert verdict(one, ASKED, owned={"a"}) == ("none", None)  # another task's
    two = [{"id": "a", "input": SAME}, {"id": "b", "input": SAME}]
    assert verdict(two, ASKED, owned=set()) == ("unsure", None)
    assert verdict([{"id": "c"}], ASKED, owned=set()) == ("unsure", None)
    other_model = [
        {"id": "d", "model": "wavespeed-ai/flux-2-klein-9b/text-to-image", "input": SAME}
    ]
    assert verdict(other_model, ASKED, owned=set()) == ("none", None)


def test_a_students_fifty_first_hand_in_is_refused(gateway: RunningGateway, ada: str) -> None:
    for n in range(HAND_INS_PER_STUDENT):
        gateway.gateway.db.add_hand_in("ada", f"lesson {n}", 1, 100)
    refused = loopback.post(gateway.base_url + HAND_IN_PATH, content=b"PK", headers=bearer(ada))
    assert refused.status_code == 409
    assert "You have handed in 50 times" in refused.json()["message"]


def test_the_sdk_reads_the_key_variable_but_not_the_base_url_one(tmp_path: Path) -> None:
    """ "The SDK (2.0.5) reads `WAVESPEED_API_KEY` but **not** `WAVESPEED_BASE_URL`" (it
    reads the key when it is imported, so a fresh interpreter shows it)."""
    env = {
        **os.environ,
        "WAVESPEED_API_KEY": "kgw_from_the_variable",
        "WAVESPEED_BASE_URL": "http://127.0.0.1:9",
        "HOME": str(tmp_path),
    }
    code = "import wavespeed; c = wavespeed.Client(); print(c.api_key, c.base_url)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["kgw_from_the_variable", "https://api.wavespeed.ai"]
    assert "reads `WAVESPEED_API_KEY` but **not** `WAVESPEED_BASE_URL`" in GATEWAY_MD
