"""Hostile clients: wrong tokens from one shared address and with spoofed forwarded
addresses, idle and slow sockets, more connections than allowed, big and slow bodies.
Each time a valid student is still served (within `SERVED` seconds), and the teacher too."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from klein_widget.gateway import RunningGateway, start
from klein_widget.gateway._app import server_for
from klein_widget.gateway._conn import Limits
from klein_widget.gateway._tokens import FailedLogins
from tests.gateway import loopback
from tests.gateway.conftest import FAST, SUBMIT, bearer, body

from .conftest import SERVED

LIMITS = Limits(head_timeout=0.5, body_timeout=0.5, keep_alive=1, max_connections=24)


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[RunningGateway]:
    """A gateway with short limits (half a second to send a head or a body, 24 sockets)."""
    with start(tmp_path / "class.sqlite3", emulator_inference_time=FAST, limits=LIMITS) as gw:
        yield gw


def _address(gw: RunningGateway) -> tuple[str, int]:
    parts = urlsplit(gw.base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def served(gw: RunningGateway, token: str) -> None:
    """A valid student's submit is answered 200 within SERVED seconds."""
    answer = loopback.post(gw.base_url + SUBMIT, json=body(), headers=bearer(token), timeout=SERVED)
    assert answer.status_code == 200, answer.text


def closed_by_server(sock: socket.socket, limit: float) -> bool:
    """Whether the server closes this socket within ``limit`` seconds."""
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_wrong_tokens_from_a_shared_spoofing_address_lock_out_no_one(
    guarded: RunningGateway,
) -> None:
    gw = guarded.gateway
    gw.logins = FailedLogins(limit=5, window=60, overall=30)
    ada = gw.db.add_student("ada", 100)
    for i in range(40):  # one stale tab, and a guesser with a fresh token and address each
        for token in ("kgw_stale-tab", f"kgw_guess{i}"):
            spoof = {"X-Forwarded-For": f"10.0.{i}.1", **bearer(token)}
            code = loopback.post(guarded.base_url + SUBMIT, json=body(), headers=spoof).status_code
            assert code in (401, 429)
    stale = loopback.post(guarded.base_url + SUBMIT, json=body(), headers=bearer("kgw_stale-tab"))
    assert stale.status_code == 429
    assert len(gw.logins) <= gw.logins.cap
    served(guarded, ada)  # same address, right token
    teacher = loopback.get(f"{guarded.base_url}/dashboard/state.json?token={gw.teacher_token}")
    assert teacher.status_code == 200


def test_the_wrong_token_table_stays_bounded() -> None:
    logins = FailedLogins(limit=3, window=60, cap=100, overall=10_000)
    for i in range(5000):
        logins.failed(f"bucket{i}")
    assert len(logins) == 100
    logins = FailedLogins(limit=3, window=60, overall=50)
    for i in range(50):
        logins.failed(f"bucket{i}")
    assert logins.wait("a-new-wrong-token") > 0  # a flood of guesses is bounded overall


def test_forwarded_addresses_are_believed_only_from_named_proxies(
    guarded: RunningGateway,
) -> None:
    default = server_for(guarded.app).config
    assert default.proxy_headers is False
    named = server_for(guarded.app, trust_proxy=["10.1.2.3"]).config
    assert named.proxy_headers is True
    assert named.forwarded_allow_ips == ["10.1.2.3"]


def test_idle_and_slow_sockets_are_closed_and_students_still_served(
    guarded: RunningGateway,
) -> None:
    ada = guarded.gateway.db.add_student("ada", 100)
    with ExitStack() as stack:
        idle = [stack.enter_context(closing(socket.create_connection(_address(guarded))))
                for _ in range(10)]  # fmt: skip
        slow = stack.enter_context(closing(socket.create_connection(_address(guarded))))
        slow.sendall(b"POST " + SUBMIT.encode() + b" HTTP/1.1\r\nHost: x\r\n")  # never ends
        served(guarded, ada)
        assert all(closed_by_server(s, 5 * LIMITS.head_timeout + 2) for s in [*idle, slow])


def test_more_sockets_than_allowed_close_the_oldest_idle_ones(guarded: RunningGateway) -> None:
    ada = guarded.gateway.db.add_student("ada", 100)
    with ExitStack() as stack:
        socks = [stack.enter_context(closing(socket.create_connection(_address(guarded))))
                 for _ in range(2 * LIMITS.max_connections)]  # fmt: skip
        served(guarded, ada)
        assert closed_by_server(socks[0], 2.0)  # the oldest idle made room


def test_a_big_body_is_refused_before_it_is_read(guarded: RunningGateway) -> None:
    ada = guarded.gateway.db.add_student("ada", 100)
    head = (f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ada}\r\n"
            "Content-Type: application/json\r\nContent-Length: 33554432\r\n\r\n")  # fmt: skip
    with closing(socket.create_connection(_address(guarded), timeout=SERVED)) as sock:
        sock.sendall(head.encode())  # no body at all: the answer comes from the header
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_streamed_big_body_is_refused_while_it_streams(guarded: RunningGateway) -> None:
    ada = guarded.gateway.db.add_student("ada", 100)
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(4096):  # up to 64 MiB, chunked: no Content-Length to refuse by
            sent += 16384
            yield b" " * 16384

    headers = {**bearer(ada), "Content-Type": "application/json"}
    try:
        answer = loopback.post(guarded.base_url + SUBMIT, content=chunks(), headers=headers,
                               timeout=SERVED)  # fmt: skip
        assert answer.status_code == 413
    except httpx.TransportError:
        pass  # the server answered and closed while we were still sending: refused too
    assert sent < 16 << 20


def test_a_slow_body_is_answered_408(guarded: RunningGateway) -> None:
    ada = guarded.gateway.db.add_student("ada", 100)
    head = (f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ada}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
    with closing(socket.create_connection(_address(guarded), timeout=SERVED)) as sock:
        sock.sendall(head.encode())
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408")


def test_every_connection_has_tcp_nodelay(guarded: RunningGateway) -> None:
    with httpx.Client(base_url=guarded.base_url) as client:
        client.get("/")
        server = guarded._server  # the live uvicorn server, for its connections
        connections = list(server.server_state.connections)
        assert connections
        for protocol in connections:
            sock = protocol.transport.get_extra_info("socket")  # type: ignore[attr-defined]
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


@pytest.mark.parametrize("repeat", [1])
def test_a_hostile_mix_still_serves_students_within_the_bound(
    guarded: RunningGateway, repeat: int
) -> None:
    ada = guarded.gateway.db.add_student("ada", 100)
    started = time.monotonic()
    with ExitStack() as stack:
        for _ in range(LIMITS.max_connections):
            stack.enter_context(closing(socket.create_connection(_address(guarded))))
        for i in range(10):
            loopback.post(guarded.base_url + SUBMIT, json=body(), headers=bearer(f"kgw_bad{i}"))
        served(guarded, ada)
    assert time.monotonic() - started < 60 * repeat  # bounded: never a hang
