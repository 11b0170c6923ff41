"""The few ASGI pieces the Hub layer (`klein_widget.gateway._hub`) needs: cookies and the
Bearer token of a request, and a small HTML or redirect answer.

Example:
    >>> bearer({"headers": [(b"authorization", b"Bearer abc")]})
    'abc'
"""

from __future__ import annotations

from starlette.types import Scope, Send

__all__ = ["bearer", "cookies", "reply"]


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
