"""WaveSpeed's upload protocol, as the official SDK's ``Client.upload`` speaks it.

1. ``POST /api/v3/media/uploads`` with the key and JSON ``{"filename", "size",
   "content_type"}`` answers a ticket: ``{"code": 200, "data": {"upload": {"method": "PUT",
   "url": ..., "headers": {...}}, "download_url": ...}}``. Uploads are not billed.
2. ``PUT`` the raw bytes to ``upload.url`` with exactly ``upload.headers``. On WaveSpeed
   that URL is another host's (a storage bucket), so a request carrying an Authorization
   header is refused here: a client that sends its key there has a bug worth seeing.
3. ``GET download_url`` serves the bytes, without a key (like a CDN); an edit's
   ``images`` may name it.

The store keeps at most `MAX_STORED_BYTES` of uploads (the oldest go first) and refuses
one file over ``Uploads.max_bytes``, so a classroom emulator cannot be filled up.

Example:
    >>> store = Uploads()
    >>> token = store.ticket("fox.png", 3, "image/png")
    >>> store.put(token, b"abc"); store.get(token).data
    b'abc'
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from klein_widget.emulator._http import act, authorize, emulator_of
from klein_widget.serving._http import Problem, envelope, read_body, read_json
from klein_widget.serving._wire import read_ticket_body

__all__ = ["MAX_STORED_BYTES", "MAX_UPLOAD_BYTES", "UPLOAD_ROUTES", "Upload", "Uploads"]

MAX_UPLOAD_BYTES = 32 << 20  # one file (WaveSpeed allows 200 MB; a reference image is < 10)
MAX_STORED_BYTES = 256 << 20  # all files together
MAX_TICKETS = 1024  # tickets not yet used; older ones are forgotten
PUT_PREFIX = "/emulator/uploads/"
FILE_PREFIX = "/emulator/files/"
UPLOAD_KEY_REFUSED = "the upload URL is another host: do not send your key there"


@dataclass
class Upload:
    """One ticket, and its bytes once they have been PUT."""

    filename: str
    size: int
    content_type: str | None
    data: bytes | None = None


class Uploads:
    """The emulator's upload store (``Emulator.uploads``), safe across threads."""

    def __init__(self, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.max_bytes = max_bytes
        """The largest file accepted, in bytes."""
        self._items: OrderedDict[str, Upload] = OrderedDict()
        self._lock = threading.Lock()

    def ticket(self, filename: str, size: int, content_type: str | None) -> str:
        """Open a ticket for one file; return its token."""
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._items[token] = Upload(filename, size, content_type)
            waiting = [t for t, u in self._items.items() if u.data is None]
            for old in waiting[:-MAX_TICKETS]:
                del self._items[old]
        return token

    def put(self, token: str, data: bytes) -> None:
        """Store the bytes of a ticket (forgetting the oldest files over the total cap)."""
        with self._lock:
            self._items[token].data = data
            self._items.move_to_end(token)
            total = sum(len(u.data or b"") for u in self._items.values())
            for old in list(self._items):
                if total <= MAX_STORED_BYTES or old == token:
                    break
                total -= len(self._items.pop(old).data or b"")

    def get(self, token: str) -> Upload | None:
        """The ticket with this token, or None."""
        with self._lock:
            return self._items.get(token)

    def find(self, path: str) -> bytes | None:
        """The bytes behind one of this emulator's download paths, or None."""
        if not path.startswith(FILE_PREFIX):
            return None
        found = self.get(path[len(FILE_PREFIX) :].split("/", 1)[0])
        return None if found is None else found.data

    def clear(self) -> None:
        """Forget every upload."""
        with self._lock:
            self._items.clear()


async def create_upload(request: Request) -> Response:
    """``POST /api/v3/media/uploads``: a ticket for one file (free)."""
    emu = emulator_of(request)
    act(emu.next_fault("upload"))
    authorize(request, emu)
    body = await read_json(request, emu.max_body_bytes)
    asked = read_ticket_body(body, emu.uploads.max_bytes)
    name, kind = asked["filename"], asked["content_type"]
    token = emu.uploads.ticket(name, asked["size"], kind)
    base = str(request.base_url).rstrip("/")
    headers = {"Content-Type": kind} if kind else {}
    ticket = {
        "upload": {"method": "PUT", "url": f"{base}{PUT_PREFIX}{token}", "headers": headers},
        "download_url": f"{base}{FILE_PREFIX}{token}/{quote(name, safe='')}",
    }
    return JSONResponse(envelope(ticket))


async def put_upload(request: Request) -> Response:
    """``PUT /emulator/uploads/{token}``: the bytes of a ticket (no key: another host)."""
    if "authorization" in request.headers:
        raise Problem(400, UPLOAD_KEY_REFUSED)
    emu = emulator_of(request)
    act(emu.next_fault("upload"))
    store = emu.uploads
    item = store.get(request.path_params["token"])
    if item is None:
        raise Problem(404, "Upload not found: ask POST /api/v3/media/uploads for a ticket first.")
    sent = request.headers.get("content-type")
    if item.content_type and sent != item.content_type:
        raise Problem(400, f"Content-Type must be {item.content_type!r} (the ticket's headers).")
    wrong_size = Problem(400, f"The ticket is for {item.size} bytes; this upload was not.")
    data = await read_body(request, item.size, wrong_size)  # no more than was declared
    if len(data) != item.size:
        raise wrong_size
    store.put(request.path_params["token"], data)
    return Response(status_code=200)


async def get_upload(request: Request) -> Response:
    """``GET /emulator/files/{token}/{name}``: an uploaded file (no key, like a CDN)."""
    item = emulator_of(request).uploads.get(request.path_params["token"])
    if item is None or item.data is None:
        raise Problem(404, "File not found: no upload with this URL has been completed.")
    kind = item.content_type or "application/octet-stream"
    return Response(item.data, media_type=kind, headers={"Cache-Control": "max-age=3600"})


UPLOAD_ROUTES = [
    Route("/api/v3/media/uploads", create_upload, methods=["POST"]),
    Route(PUT_PREFIX + "{token}", put_upload, methods=["PUT"]),
    Route(FILE_PREFIX + "{token}/{name}", get_upload, methods=["GET"]),
]
