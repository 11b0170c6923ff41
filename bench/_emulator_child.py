"""The emulator in its own process, driven by JSON lines on stdin (one answer per line).

Run by `bench._emulator.EmulatorProcess`; not meant to be started by hand. Keeping the
server in another process keeps its CPU, its memory and its share of the GIL out of what
the benchmarks measure in the client's process.

Images: the emulator draws each task's placeholder on its first download (~60 ms of CPU,
~200 KB). A real service has the file ready when the task completes, and FLUX.2 output
at 1024x1024 is a photo-like PNG of 1-2 MB. So by default (``--image photo``) every
task of a given size serves one PNG, drawn once at start-up and made photo-like with
fine noise (about 1.6 MB at 1024x1024): downloads cost a transfer, not a drawing, and
weigh what real ones do. ``--image drawn`` keeps the emulator's own images.

The server is the emulator's own (`make_server`), on a loopback port of its choosing. Its
network delay (``configure(network_delay=...)``) holds every request and answer, uploads
included (the ticket and the PUT of an edit's reference), for the same half round trip.

Commands: ``{"cmd": "configure", "knobs": {...}}``, ``{"cmd": "reset"}``,
``{"cmd": "size"}`` (length of the request log), ``{"cmd": "log", "since": N}``
(records from index N: method, path, status, monotonic time), ``{"cmd": "tasks"}``
(id, start and finish of each task, monotonic), ``{"cmd": "stop"}``.
The first line written is ``{"base_url": ...}``.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
import threading
import time
from typing import Any

from PIL import Image, ImageChops

from klein_widget.emulator import Emulator, create_app
from klein_widget.emulator._render import render_png
from klein_widget.emulator._server import make_server
from klein_widget.emulator._state import Task
from klein_widget.serving._http import bind, url_for

PHOTO_NOISE = 5  # sigma of the grain that makes a drawing compress like a photo
# uvicorn closes a connection idle for 5 s; clients taking turns (the slowest image takes
# ~3 s) would reconnect for every image, which costs handshakes once the network knob
# charges them. Front ends of real APIs keep idle connections for a minute or more.
KEEP_ALIVE = 75.0
PNG_COMPRESS_LEVEL = 6  # Pillow's default: the weight of the figures in RESULTS.md


@functools.lru_cache(maxsize=8)
def photo_png(width: int, height: int, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """A photo-weight PNG of the emulator's drawing (the same bytes for every call); a lower
    ``compress_level`` draws it faster and a little heavier (the smoke run's)."""
    drawn = render_png("a red fox in fresh snow", 0, width, height)
    with Image.open(io.BytesIO(drawn)) as source:
        scene = source.convert("RGB")
    grain = [
        Image.effect_noise((width, height), PHOTO_NOISE).point(lambda v: max(0, v - 128))
        for _ in range(3)
    ]
    out = io.BytesIO()
    photo = ImageChops.add(scene, Image.merge("RGB", grain))
    photo.save(out, format="PNG", compress_level=compress_level)
    return out.getvalue()


def _serve_photos(compress_level: int) -> None:
    """Make every task's image the cached photo-weight PNG of its size."""
    photo_png(1024, 1024, compress_level)  # drawn now, not during the first measured download

    def image(task: Task) -> bytes:
        assert task.request is not None, "only text-to-image tasks have images"
        return photo_png(task.request.width, task.request.height, compress_level)

    Task.image = image  # type: ignore[method-assign, assignment]


def _answer(emulator: Emulator, command: dict[str, Any]) -> Any:
    cmd = command.get("cmd")
    if cmd == "configure":
        emulator.configure(**command["knobs"])
        return "ok"
    if cmd == "reset":
        emulator.reset()
        return "ok"
    if cmd == "size":
        return len(emulator.requests)
    if cmd == "tasks":
        return [[t.id, t.start, t.finish] for t in list(emulator.tasks.values())]
    if cmd == "log":
        records = emulator.requests[int(command.get("since", 0)) :]
        return [[r.method, r.path, r.status, r.at] for r in records]
    raise ValueError(f"unknown command {cmd!r}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--inference-time", type=float, default=0.6)
    parser.add_argument("--concurrency", type=int, default=0)
    parser.add_argument("--image", choices=("photo", "drawn"), default="photo")
    parser.add_argument("--photo-compress", type=int, default=PNG_COMPRESS_LEVEL)
    args = parser.parse_args()
    if args.image == "photo":
        _serve_photos(args.photo_compress)
    app = create_app(inference_time=args.inference_time, concurrency=args.concurrency or None)
    emulator: Emulator = app.state.emulator
    sock = bind("127.0.0.1", 0)
    server = make_server(app)
    server.config.timeout_keep_alive = KEEP_ALIVE
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            return 1
        time.sleep(0.005)
    print(json.dumps({"base_url": url_for("127.0.0.1", sock.getsockname()[1])}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command.get("cmd") == "stop":
                break
            try:
                reply: dict[str, Any] = {"ok": _answer(emulator, command)}
            except Exception as exc:  # the parent shows it; the server keeps going
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        server.should_exit = True
        thread.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
