"""The few ASGI pieces the Hub layer (`klein_widget.gateway._hub`) needs: cookies and the
Bearer token of a request, a small HTML or redirect answer, and the dashboard's links moved
under the Hub service's prefix.

Example:
    >>> bearer({"headers": [(b"authorization", b"Bearer abc")]})
    'abc'
"""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Scope, Send

__all__ = ["bearer", "cookies", "prefixed", "reply"]


def cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies by name (the first of each)."""
    jar: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                jar.setdefault(key, val)
    return jar


def bearer(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` (or ``token``) header, if any."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() in ("bearer", "token") and token.strip():
                return str(token.strip()[:512])
    return None


async def reply(send: Send, status: int, body: str, headers: list[tuple[bytes, bytes]]) -> None:
    """Answer with an HTML ``body`` (or a redirect, with a ``location`` header)."""
    data = body.encode()
    head = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
    head += [(b"content-length", str(len(data)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})


def prefixed(send: Send, root: str) -> Send:
    """The dashboard's site-absolute links (in its HTML and scripts) and redirects, moved
    under the prefix (the pages were written for a gateway at the root of its address)."""
    prefix = root.encode()
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (k, prefix + v if k == b"location" and v.startswith(b"/") else v)
                for k, v in message.get("headers", [])
            ]
            start.update(message, headers=headers)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        body = b"".join(chunks)
        kind = b"".join(v for k, v in start["headers"] if k == b"content-type")
        page = kind.startswith(b"text/html") or b"javascript" in kind  # not JSON, not a zip
        for quote in (b'"', b"'") if page else ():
            for root in (b"/dashboard", b"/gateway/"):
                body = body.replace(quote + root, quote + prefix + root)
        headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return sending
