"""The aiohttp session under the async client's pool, without aiohttp's silent retry.

aiohttp sends an idempotent request (a poll, a download) a second time, uncounted, when a
kept-alive connection it reused drops (``ClientOSError`` or ``ServerDisconnectedError``
from sending the request or reading the answer's head). The client's own retry policy
decides instead (counted, logged, within the deadline), so a client middleware (aiohttp
3.12's public API) re-raises such a drop as `DroppedConnection`, which aiohttp passes on
without a second try. A failure to connect (``ClientConnectorError``, a connect timeout)
is left alone: nothing was sent, and it stays a connect error. Imported only where an
async pool is opened (`_transport`): aiohttp's import costs ~0.2 CPU-s.
"""

from __future__ import annotations

import ssl

import aiohttp
import httpx

__all__ = ["DroppedConnection", "no_silent_retry", "session"]


class DroppedConnection(aiohttp.ClientConnectionError):
    """The connection dropped after the request may have gone out: not retried here."""


async def no_silent_retry(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Pass ``request`` on; a dropped connection comes back as `DroppedConnection`."""
    try:
        return await handler(request)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        raise  # never connected: nothing was sent
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as error:
        raise DroppedConnection(str(error) or type(error).__name__) from error


def session(limits: httpx.Limits, ssl_context: ssl.SSLContext) -> aiohttp.ClientSession:
    """A session with ``limits``' pool size and keep-alive, verifying with ``ssl_context``
    (made inside the running loop: aiohttp binds a session to it)."""
    connector = aiohttp.TCPConnector(
        limit=limits.max_connections or 0,
        keepalive_timeout=limits.keepalive_expiry,
        ssl=ssl_context,
    )
    return aiohttp.ClientSession(connector=connector, middlewares=(no_silent_retry,))
