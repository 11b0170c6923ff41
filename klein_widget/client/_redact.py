"""The API key kept out of what outlives a request: log records, messages, kept answers.

The key goes nowhere but the request header. A server may echo it (in a message, a URL, a
header), and httpcore logs response headers: what the client keeps or logs passes here.
"""

from __future__ import annotations

import logging

import httpx

__all__ = ["protect_logs", "redact", "redacted_response"]

_MIN_SECRET = 8  # a one-letter test key must not turn "klein" into "[redacted]lein"


def redact(text: str, secret: str | None) -> str:
    """Remove the API key from text that may have echoed it (server messages, URLs)."""
    return text.replace(secret, "[redacted]") if secret and len(secret) >= _MIN_SECRET else text


class _RedactKeys(logging.Filter):
    """Takes the keys out of httpx's and httpcore's DEBUG records (a server may echo one
    in a header, and httpcore logs response headers)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, ()
        return True


_LOG_FILTER = _RedactKeys()
# A logger's filters see only its own records, not its children's: name each one.
_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


def protect_logs(secret: str | None) -> None:
    """Keep ``secret`` out of the HTTP libraries' log records from now on."""
    if not secret or len(secret) < _MIN_SECRET or secret in _LOG_FILTER.secrets:
        return
    if not _LOG_FILTER.secrets:
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).addFilter(_LOG_FILTER)
    _LOG_FILTER.secrets.add(secret)


_KEPT_BODY = 4096  # bytes of an error answer's body an error keeps
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "set-cookie", "cookie"})


def redacted_response(response: httpx.Response, secret: str | None) -> httpx.Response:
    """A copy of an error answer that is safe to keep on an exception: status, headers
    without credentials, the body cut to `_KEPT_BODY` bytes, the key taken out of both,
    and no request (it holds the key)."""
    headers = [
        (name, redact(value, secret))
        for name, value in response.headers.items()
        if name.lower() not in _SECRET_HEADERS
        and name.lower() not in ("content-length", "content-encoding", "transfer-encoding")
    ]
    text = response.content[:_KEPT_BODY].decode("utf-8", "replace")
    return httpx.Response(response.status_code, headers=headers, text=redact(text, secret))
