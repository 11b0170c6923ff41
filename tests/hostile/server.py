"""A hostile WaveSpeed: a real HTTP server on 127.0.0.1 whose answers a test scripts.

The emulator only makes the faults we thought of; this server makes the rest. It speaks
WaveSpeed's routes over a raw socket (so it can also speak HTTP badly):

- ``POST /api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image``  route ``"submit"``
- ``GET  /api/v3/predictions/{id}/result``                     route ``"result"``
- ``GET  /api/v3/predictions/{id}``                            route ``"result_alt"``
- ``GET  /img/{id}.png``                                       route ``"image"``
- anything else                                                route ``"other"``

Each route has a script: a queue of `Answer` objects consumed in order (an answer with
``repeat=n`` is served n times). When a route's script is empty the server answers like
the real API would: a submit is accepted as ``task-N`` (status ``created``, ``urls.get``
on this server), a result poll says ``completed`` with one output URL on the *image
origin* (by default a second server: another origin, as WaveSpeed's CDN is), and an image
URL serves a small real PNG. So a test scripts only the faults it wants, and the client
gets a normal answer afterwards.

An `Answer` can misbehave in every way the client must survive: any status (3xx with a
``Location`` to this or another origin, 429 with any ``Retry-After``), any headers
(``Content-Encoding: gzip`` on plain bytes, a lying ``Content-Length``), any body (wrong
JSON shapes, HTML, huge padding), a ``delay`` before answering, ``hold`` (read the request
and never answer), ``drop`` (close before answering, after the headers, or halfway through
the body; ``"reset"`` sends a TCP RST), ``trickle`` (one byte every so many seconds),
``endless`` (a chunked body that never ends), or ``raw`` bytes instead of a response.
Bodies are templates: ``%ID%`` (the task id), ``%BASE%`` (this server), ``%IMG%`` (the
image origin), ``%OTHER%`` (the other server) and ``%AUTH%`` (the Authorization header
the server received: a server that echoes the key back).

Everything is bounded: a held request, a trickle or an endless body stops after
``stream_seconds`` (and an endless body after ``stream_bytes``), or when the client hangs
up, or at `abort` (a test's watchdog calls it when the client's memory grows too much);
handler threads are daemon threads; `stop` shuts the server down. It only ever binds
127.0.0.1 and never connects anywhere.

The server counts every request per route and records how it answered each submit:
``accepted`` (a complete 2xx envelope with code 200 and a task id: the task is billed),
``refused`` (a complete 4xx: surely not billed) or ``ambiguous`` (anything else). Tests
assert the client's money invariants against these records.

Example:
    >>> with HostileServer() as api:
    ...     api.script("result", Answer(429, headers=(("Retry-After", "1"),)))
    ...     # point a client at api.base_url; then check api.count("submit"), api.submits
"""

from __future__ import annotations

import base64
import contextlib
import http
import io
import itertools
import json
import re
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from PIL import Image

SUBMIT_PATH = "/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image"
EDIT_PATH = "/api/v3/wavespeed-ai/flux-2-klein-9b/edit"  # an edit's submit: the same rules
RESULT_PATH_TEMPLATE = "/api/v3/predictions/%ID%/result"  # a body/header template
MODEL = "wavespeed-ai/flux-2-klein-4b/text-to-image"
Route = Literal["submit", "result", "result_alt", "image", "other"]
ROUTES: tuple[Route, ...] = ("submit", "result", "result_alt", "image", "other")


# --- images -----------------------------------------------------------------------------------


def _png(width: int = 64, height: int = 48) -> bytes:
    picture = Image.new("RGB", (width, height), (200, 80, 40))
    for x in range(width):
        picture.putpixel((x, x * height // width), (20, 40, 220))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 160, 90)).save(out, format="JPEG", quality=80)
    return out.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _bomb(side: int = 20_000) -> bytes:
    """A tiny, well-formed PNG header declaring side x side pixels (1-bit grey).

    Pillow refuses to open it (``DecompressionBombError``: over twice MAX_IMAGE_PIXELS);
    a client that accepts it hands the user an image nobody can display.
    """
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    idat = zlib.compress(row * 16)  # only the first rows: the header is what matters
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


PNG = _png()
JPEG = _jpeg()
BOMB_PNG = _bomb()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_GARBAGE = PNG_SIGNATURE + bytes(range(256)) * 4  # right signature, nonsense after it
PNG_TRUNCATED = PNG[: len(PNG) // 2]  # header and half the data: decodes to an error
PNG_B64 = base64.b64encode(PNG).decode()


# --- bodies -----------------------------------------------------------------------------------


def envelope(
    data: Any = None, *, code: Any = 200, message: str = "success", **fields: Any
) -> bytes:
    """A WaveSpeed envelope as bytes; ``data`` defaults to `task` (keyword overrides apply).

    Example:
        >>> json.loads(envelope(status="failed", error="nsfw"))["data"]["status"]
        'failed'
    """
    if data is None:
        data = task(**fields)
    elif fields:
        raise TypeError("pass either data or task fields")
    return json.dumps({"code": code, "message": message, "data": data}).encode()


def task(**overrides: Any) -> dict[str, Any]:
    """A prediction object as the real API sends it (templated id and URLs)."""
    data: dict[str, Any] = {
        "id": "%ID%",
        "model": MODEL,
        "status": "completed",
        "outputs": ["%IMG%/img/%ID%.png"],
        "urls": {"get": "%BASE%/api/v3/predictions/%ID%/result"},
        "has_nsfw_contents": [False],
        "timings": {"inference": 600},
        "created_at": "2026-01-20T10:00:00.000000Z",
        "error": "",
    }
    data.update(overrides)
    return data


def nested(depth: int) -> bytes:
    """An envelope whose data holds JSON nested ``depth`` deep (a parser's recursion limit)."""
    inner = "[" * depth + "]" * depth
    return (
        b'{"code":200,"message":"success","data":{"id":"%ID%","status":"completed",'
        b'"outputs":' + inner.encode() + b"}}"
    )


# --- the script ---------------------------------------------------------------------------------

Drop = Literal["before", "headers", "body", "reset"]


@dataclass(frozen=True)
class Answer:
    """One scripted answer. Plain data, so hypothesis can print a failing one.

    ``body`` is a template (see the module docstring); ``pad`` filler bytes (spaces: still
    valid JSON) follow it without being held in memory; ``length`` overrides the
    Content-Length header (a lie); ``raw`` replaces the whole response.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    pad: int = 0
    delay: float = 0.0
    hold: bool = False
    drop: Drop | None = None
    trickle: float = 0.0
    endless: bool = False
    chunked: bool = False
    length: int | None = None
    raw: bytes | None = None
    repeat: int = 1

    def __repr__(self) -> str:  # short: only what differs from a plain 200
        parts = [str(self.status)]
        for name in ("headers", "pad", "delay", "hold", "drop", "trickle", "endless"):
            value = getattr(self, name)
            if value and value != Answer.__dataclass_fields__[name].default:
                parts.append(f"{name}={value!r}")
        for name in ("chunked", "length", "raw"):
            value = getattr(self, name)
            if value not in (None, False):
                parts.append(f"{name}={value!r}")
        if self.repeat != 1:
            parts.append(f"repeat={self.repeat}")
        body = self.body if len(self.body) <= 160 else self.body[:150] + b"...(%d)" % len(self.body)
        parts.append(f"body={body!r}")
        return f"Answer({', '.join(parts)})"


def json_answer(body: bytes, status: int = 200, **options: Any) -> Answer:
    """An answer with a JSON content type."""
    headers = (("Content-Type", "application/json"), *options.pop("headers", ()))
    return Answer(status, headers=headers, body=body, **options)


@dataclass
class Request:
    """What the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    route: Route
    task_id: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class SubmitRecord:
    """How the server answered one submit: ``accepted`` (with the task id), ``refused``, or
    ``ambiguous``; and the status it sent (429s make a resubmit legitimate)."""

    outcome: Literal["accepted", "refused", "ambiguous"]
    status: int
    task_id: str | None
    prompt: str | None


_TASK_IN_PATH = re.compile(r"^/api/v3/predictions/([^/?#]+)(/result)?/?$")
_IMAGE_IN_PATH = re.compile(r"^/img/([^/?#]+?)(\.[a-z]+)?$")


@dataclass
class _State:
    scripts: dict[str, deque[Answer]] = field(
        default_factory=lambda: {route: deque() for route in ROUTES}
    )
    counts: Counter[str] = field(default_factory=Counter)
    requests: list[Request] = field(default_factory=list)
    submits: list[SubmitRecord] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)


class HostileServer:
    """A scripted, counting WaveSpeed on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        image_origin: HostileServer | None = None,
        stream_seconds: float = 20.0,
        stream_bytes: int = 300 * 2**20,
        name: str = "api",
    ) -> None:
        self.name = name
        self.stream_seconds = stream_seconds
        self.stream_bytes = stream_bytes
        self.rule: Callable[[Request], Answer | None] | None = None
        self._lock = threading.Lock()
        self._state = _State()
        self._abort = threading.Event()
        self._image_origin = image_origin
        self.other: HostileServer | None = image_origin
        self.bytes_streamed = 0
        self._ids = itertools.count(1)  # never reset: task ids stay unique across examples
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"hostile-{name}",
            daemon=True,
        )
        self._thread.start()

    # --- control ------------------------------------------------------------------------------

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop streams, stop serving and close the socket."""
        self._abort.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    @property
    def image_base(self) -> str:
        """Where default outputs point: the image origin (another server), else this one."""
        return (self._image_origin or self).base_url

    def script(self, route: Route, *answers: Answer) -> None:
        """Append answers to a route's script (served in order, then the default)."""
        with self._lock:
            for answer in answers:
                self._state.scripts[route].extend([answer] * max(1, answer.repeat))

    def reset(self) -> None:
        """Forget scripts, rule, counts and records (between hypothesis examples)."""
        with self._lock:
            self._state = _State()
            self.rule = None
            self.bytes_streamed = 0
        self._abort.clear()

    def abort(self) -> None:
        """End every held, trickling or endless answer now, and drop what is scripted."""
        with self._lock:
            for queue in self._state.scripts.values():
                queue.clear()
            self.rule = None
        self._abort.set()

    @property
    def aborted(self) -> bool:
        return self._abort.is_set()

    def count(self, route: Route) -> int:
        """Requests received on a route (a submit counts when its request line arrived)."""
        with self._lock:
            return self._state.counts[route]

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._state.requests)

    @property
    def submits(self) -> list[SubmitRecord]:
        """Every submit received; one still being answered (held, trickling) is ambiguous."""
        with self._lock:
            done = list(self._state.submits)
            pending = self._state.counts["submit"] - len(done)
        return done + [SubmitRecord("ambiguous", 0, None, None) for _ in range(max(0, pending))]

    def accepted_ids(self) -> list[str]:
        """Task ids the server accepted (complete 2xx envelopes with an id), in order."""
        return [s.task_id for s in self.submits if s.outcome == "accepted" and s.task_id]

    def new_task(self, prompt: str = "a fox", *, base64_output: bool = False) -> str:
        """Make a task id known to the server (as if an earlier run had submitted it)."""
        with self._lock:
            return self._new_task_locked({"prompt": prompt, "enable_base64_output": base64_output})

    # --- serving --------------------------------------------------------------------------------

    def _new_task_locked(self, body: dict[str, Any]) -> str:
        task_id = f"task-{self.port}-{next(self._ids)}"
        self._state.tasks[task_id] = body
        return task_id

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(10.0)
        try:
            request = self._read(sock)
        except (OSError, ValueError):
            return
        if request is None:
            return
        with self._lock:
            self._state.counts[request.route] += 1
            self._state.requests.append(request)
            if request.route == "submit":
                body = request.json()
                request.task_id = self._new_task_locked(body if isinstance(body, dict) else {})
            answer = self.rule(request) if self.rule is not None else None
            if answer is None:
                queue = self._state.scripts[request.route]
                answer = queue.popleft() if queue else None
        if answer is None:
            answer = self._default(request)
        complete = False
        try:
            complete = self._answer(sock, request, answer)
        except OSError:
            complete = False
        finally:
            if request.route == "submit":
                self._record_submit(request, answer, complete)
            with contextlib.suppress(OSError):
                sock.close()

    def _read(self, sock: socket.socket) -> Request | None:
        stream = sock.makefile("rb")
        line = stream.readline(65537)
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = stream.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        size = int(headers.get("content-length") or 0)
        body = stream.read(size) if size else b""
        path = target.split("?", 1)[0]
        route: Route = "other"
        task_id = None
        if method == "POST" and path.rstrip("/") in (SUBMIT_PATH, EDIT_PATH):
            route = "submit"
        elif method == "GET" and (found := _TASK_IN_PATH.match(path)):
            route = "result" if found.group(2) else "result_alt"
            task_id = found.group(1)
        elif method == "GET" and (found := _IMAGE_IN_PATH.match(path)):
            route, task_id = "image", found.group(1)
        return Request(method, target, headers, body, route, task_id)

    def _default(self, request: Request) -> Answer:
        if request.route == "submit":
            body = request.json() if isinstance(request.json(), dict) else {}
            if body.get("enable_sync_mode"):
                return json_answer(envelope(outputs=[self._output(body)]))
            return json_answer(envelope(status="created", outputs=[], has_nsfw_contents=[]))
        if request.route in ("result", "result_alt"):
            with self._lock:
                body = self._state.tasks.get(request.task_id or "", {})
            return json_answer(envelope(outputs=[self._output(body)]))
        if request.route == "image":
            return Answer(200, headers=(("Content-Type", "image/png"),), body=PNG)
        return json_answer(b'{"code":404,"message":"no such route","data":null}', 404)

    @staticmethod
    def _output(body: dict[str, Any]) -> str:
        return PNG_B64 if body.get("enable_base64_output") else "%IMG%/img/%ID%.png"

    def _render(self, data: bytes, request: Request) -> bytes:
        if b"%" not in data:
            return data
        other = self.other.base_url if self.other is not None else self.base_url
        values = {
            b"%ID%": (request.task_id or "").encode(),
            b"%BASE%": self.base_url.encode(),
            b"%IMG%": self.image_base.encode(),
            b"%OTHER%": other.encode(),
            b"%AUTH%": request.headers.get("authorization", "").encode("latin-1"),
        }
        for marker, value in values.items():
            data = data.replace(marker, value)
        return data

    def _record_submit(self, request: Request, answer: Answer, complete: bool) -> None:
        payload = request.json()
        prompt = payload.get("prompt") if isinstance(payload, dict) else None
        outcome: Literal["accepted", "refused", "ambiguous"] = "ambiguous"
        task_id = None
        if complete and 400 <= answer.status < 500 and answer.raw is None:
            outcome = "refused"
        elif complete and 200 <= answer.status < 300 and answer.raw is None:
            headers = {k.lower(): v for k, v in answer.headers}
            body = None
            if "content-encoding" not in headers and answer.pad < 2**20:
                try:
                    body = json.loads(self._render(answer.body, request))
                except (ValueError, RecursionError):
                    body = None
            data = body.get("data") if isinstance(body, dict) else None
            code = body.get("code", 200) if isinstance(body, dict) else None
            found = data.get("id") if isinstance(data, dict) else None
            if code == 200 and isinstance(found, str) and found:
                outcome, task_id = "accepted", found
        with self._lock:
            self._state.submits.append(SubmitRecord(outcome, answer.status, task_id, prompt))

    # --- answering (returns True if the whole answer was sent) ----------------------------------

    def _wait(self, seconds: float, sock: socket.socket | None = None) -> bool:
        """Sleep up to ``seconds``; False if aborted or the client hung up meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self._abort.wait(min(left, 0.05)):
                return False
            if sock is not None and _hung_up(sock):
                return False
        return True

    def _answer(self, sock: socket.socket, request: Request, answer: Answer) -> bool:
        if answer.delay and not self._wait(answer.delay, sock):
            return False
        if answer.hold:
            self._wait(self.stream_seconds, sock)
            return False
        if answer.drop in ("before", "reset"):
            if answer.drop == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if answer.raw is not None:
            sock.sendall(self._render(answer.raw, request))
            return True
        body = self._render(answer.body, request)
        total = len(body) + answer.pad
        head = [f"HTTP/1.1 {answer.status} {_reason(answer.status)}"]
        names = {name.lower() for name, _ in answer.headers}
        for name, value in answer.headers:
            head.append(
                f"{name}: {self._render(value.encode('latin-1'), request).decode('latin-1')}"
            )
        if answer.endless or answer.chunked:
            head.append("Transfer-Encoding: chunked")
        elif "content-length" not in names:
            head.append(f"Content-Length: {answer.length if answer.length is not None else total}")
        if "connection" not in names:
            head.append("Connection: close")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if answer.drop == "headers":
            return False
        if answer.endless:
            return self._endless(sock, body)
        if answer.chunked:
            for piece in _pieces(body, answer.pad):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
            return True
        if answer.drop == "body":
            sock.sendall(body[: len(body) // 2])
            return False
        if answer.trickle:
            return self._trickle(sock, body, answer.trickle)
        for piece in _pieces(body, answer.pad):
            if self._abort.is_set():
                return False
            sock.sendall(piece)
        return answer.length is None or answer.length == total

    def _trickle(self, sock: socket.socket, body: bytes, every: float) -> bool:
        end = time.monotonic() + self.stream_seconds
        for i in range(len(body)):
            sock.sendall(body[i : i + 1])
            if i + 1 < len(body) and (time.monotonic() > end or not self._wait(every, sock)):
                return False
        return True

    def _endless(self, sock: socket.socket, prefix: bytes) -> bool:
        filler = b"0" * 65536
        frame = b"%x\r\n%s\r\n" % (len(filler), filler)
        if prefix:
            sock.sendall(b"%x\r\n%s\r\n" % (len(prefix), prefix))
        end = time.monotonic() + self.stream_seconds
        sent = len(prefix)
        while sent < self.stream_bytes and time.monotonic() < end and not self._abort.is_set():
            sock.sendall(frame)
            sent += len(filler)
            with self._lock:
                self.bytes_streamed += len(filler)
        return False  # never completes: the body has no end


def _pieces(body: bytes, pad: int) -> Iterator[bytes]:
    if body:
        yield body
    filler = b" " * 65536
    while pad > 0:
        yield filler[: min(pad, len(filler))]
        pad -= len(filler)


def _hung_up(sock: socket.socket) -> bool:
    """True if the client closed its end (a peek that finds the end of the stream)."""
    timeout = sock.gettimeout()
    try:
        sock.setblocking(False)
        try:
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            return False
        finally:
            sock.settimeout(timeout)
    except OSError:
        return True


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Whatever"


def with_repeat(answer: Answer, times: int) -> Answer:
    """The same answer served ``times`` times."""
    return replace(answer, repeat=times)
