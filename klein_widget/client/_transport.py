"""The async client's connection pool: httpx's API over aiohttp's pool, when installed.

Measured in ``bench/`` (issue 17), 300 images at concurrency 32: httpx's own pool
(httpcore) costs about 5 ms of client CPU per image, most of it walking every connection
on every request; the same client over ``httpx-aiohttp``'s transport (what openai-python
offers as ``DefaultAioHttpClient``) about 2 ms. The client keeps httpx's API either way,
and ``http_client=`` still takes any ``httpx.AsyncClient``.

Corrections on the way, found by the hostile suite (tests/hostile): httpx-aiohttp 0.2
reports every aiohttp connection error as ``httpx.ConnectTimeout``, even a connection
dropped after the request was sent; for a submit that would mean "never sent, safe to
send again", and a second bill. Here only a failure to connect
(``aiohttp.ClientConnectorError``) stays a connect error; every other one becomes a read
error, which the client treats as "may have been accepted". aiohttp errors it lets
through unmapped (a malformed answer) become ``httpx.RemoteProtocolError``, and aiohttp's
silent second try of a GET on a dropped connection is off (`_aiohttp_pool`, a client
middleware): the client's retry policy decides. A hostile test (a download whose
connections all drop) fails if that try comes back.

Both clients' pools (`default_async_http`, `default_http`) share one TLS context,
`shared_ssl_context`: building one loads the CA bundle, about 25 ms of CPU, which every
client made paid again (for a plain ``http://`` server too, where it is never used). The
package's other HTTP clients take it too: the emulator's reference fetch (one a request),
``klein hand-in``, the Hub connector and the gateway's upstream and Hub look-ups.

Example:
    >>> http = default_async_http(httpx.Limits(max_connections=4))  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator

import httpx

# aiohttp and httpx-aiohttp are imported where they are used: aiohttp's import makes SSL
# contexts (~0.2 CPU-s), which a process that never opens an async pool (a kernel with the
# blocking client, the CLI) need not pay.

__all__ = ["SafeAiohttpTransport", "default_async_http", "default_http", "shared_ssl_context"]


def _remapped(error: Exception) -> httpx.TransportError:
    """An httpx error for what aiohttp raised: a connect error only if nothing was sent."""
    import aiohttp

    cause = error.__cause__ if isinstance(error, httpx.ConnectTimeout) else error
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(error))  # never connected: nothing was sent
    if isinstance(error, httpx.ConnectTimeout):
        return httpx.ReadError(str(error) or "the connection broke")  # it may have been sent
    return httpx.RemoteProtocolError(str(error) or type(error).__name__)  # a broken answer


def _foreign(error: Exception) -> bool:
    """An error httpx-aiohttp mislabels (see above) or lets through unmapped."""
    import aiohttp

    return isinstance(error, httpx.ConnectTimeout | aiohttp.ClientError)


class _RemappedStream(httpx.AsyncByteStream):
    """A response body whose broken connections read as broken reads, not connects."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except Exception as error:
            if not _foreign(error):
                raise
            raise _remapped(error) from error

    async def aclose(self) -> None:
        await self._inner.aclose()


class SafeAiohttpTransport(httpx.AsyncBaseTransport):
    """httpx-aiohttp's transport, with connection errors told apart (see above)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as error:
            if not _foreign(error):
                raise
            raise _remapped(error) from error
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _RemappedStream(response.stream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context of every pool the clients open, made once per process (an
    ``SSLContext`` is safe to share between connections, threads and event loops; aiohttp
    shares its own default one so). ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are read then."""
    return httpx.create_ssl_context()


def default_http(limits: httpx.Limits) -> httpx.Client:
    """The ``httpx.Client`` a `KleinClient` opens when given none: httpx's own pool."""
    return httpx.Client(limits=limits, verify=shared_ssl_context())


def default_async_http(limits: httpx.Limits) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` an `AsyncKleinClient` opens when given none: httpx's API
    over aiohttp's pool (``httpx-aiohttp``, a dependency)."""
    import httpx_aiohttp

    from klein_widget.client._aiohttp_pool import session

    ssl_context = shared_ssl_context()

    # verify= given, or the transport builds a context of its own (which it never uses).
    inner = httpx_aiohttp.AiohttpTransport(
        limits=limits, client=lambda: session(limits, ssl_context), verify=ssl_context
    )
    return httpx.AsyncClient(transport=SafeAiohttpTransport(inner), limits=limits)
