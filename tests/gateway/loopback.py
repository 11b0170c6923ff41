"""httpx's one-call functions (``get``, ``post``, ...) for the tests' loopback servers,
without building a TLS context per call.

``httpx.get(url)`` makes a client for the one call, and with it a TLS context that loads
the CA bundle: about 30 ms of CPU each time, though a loopback URL is plain HTTP. A test
polling a task every 10 ms spent most of its CPU there. These pass the package's own
one-per-process context (`shared_ssl_context`, what the clients' pools use), so each call
still opens its own connection as before and costs only what its request costs.

Example:
    >>> from tests.gateway import loopback
    >>> loopback.get("http://127.0.0.1:1/", timeout=1)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import httpx

from klein_widget.client._transport import shared_ssl_context


def request(method: str, url: str, **options: Any) -> httpx.Response:
    """`httpx.request` with the shared TLS context."""
    options.setdefault("verify", shared_ssl_context())
    return httpx.request(method, url, **options)


def get(url: str, **options: Any) -> httpx.Response:
    """`httpx.get` with the shared TLS context."""
    return request("GET", url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    """`httpx.post` with the shared TLS context."""
    return request("POST", url, **options)


def put(url: str, **options: Any) -> httpx.Response:
    """`httpx.put` with the shared TLS context."""
    return request("PUT", url, **options)


def delete(url: str, **options: Any) -> httpx.Response:
    """`httpx.delete` with the shared TLS context."""
    return request("DELETE", url, **options)
