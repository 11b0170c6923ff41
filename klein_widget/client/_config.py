"""Where the client talks to, and with which key: the environment, URLs and paths, once.

Example:
    >>> result_path("t1")
    '/api/v3/predictions/t1/result'
"""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from klein_widget.client._exceptions import AuthenticationError

DEFAULT_BASE_URL = "https://api.wavespeed.ai"
API_KEY_ENV = "WAVESPEED_API_KEY"
BASE_URL_ENV = "WAVESPEED_BASE_URL"


def resolve_api_key(api_key: str | None) -> str | None:
    """The explicit key, else ``$WAVESPEED_API_KEY``, else None (checked at first request).

    A key holding anything but printable ASCII (a line break, a space, a non-ASCII letter
    from a bad paste) is refused here, before any request, without showing it.
    """
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    key = key.strip() if key else None
    if key and not all("!" <= char <= "~" for char in key):
        source = "The API key" if api_key is not None else f"${API_KEY_ENV}"
        raise AuthenticationError(
            f"{source} holds characters a WaveSpeed key never has (a line break, a space or "
            "a non-ASCII letter, perhaps from a paste); nothing was sent. Copy the key from "
            "your WaveSpeed dashboard again."
        )
    return key or None


def resolve_base_url(base_url: str | None) -> str:
    """The explicit URL, else ``$WAVESPEED_BASE_URL``, else WaveSpeed's."""
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return url.rstrip("/")


def url_origin(url: str) -> str:
    """The ``scheme://host`` of a URL ("" for a relative one): where a key may be sent,
    and the gallery's ``origin`` column.

    Example:
        >>> url_origin("https://api.example.com/v1/tasks/42")
        'https://api.example.com'
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def needs_key(base_url: str) -> bool:
    """Does this server need a key? WaveSpeed's own hosts do; a local emulator or a
    classroom gateway decides for itself (a 401 then says so).

    Example:
        >>> needs_key("https://api.wavespeed.ai"), needs_key("http://127.0.0.1:8765")
        (True, False)
    """
    host = urlsplit(base_url).hostname or ""
    return host == "wavespeed.ai" or host.endswith(".wavespeed.ai")


def is_local(base_url: str | None) -> bool:
    """True if ``base_url`` is on this machine (loopback), where the emulator runs.

    Example:
        >>> is_local("http://127.0.0.1:8765"), is_local("https://api.wavespeed.ai")
        (True, False)
    """
    host = urlsplit(base_url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: not this machine as far as we can tell
        return False


def service_name(base_url: str, simulated: bool) -> str:
    """Which service made an image, as the gallery records it: the host of a real one, the
    emulator (on this machine) or another simulating server (a rehearsal gateway).

    Example:
        >>> service_name("https://api.wavespeed.ai", False)
        'api.wavespeed.ai'
        >>> service_name("http://127.0.0.1:8765", True)
        'emulator @127.0.0.1:8765'
    """
    where = urlsplit(base_url).netloc or base_url
    if not simulated:
        return where
    return f"emulator @{where}" if is_local(base_url) else f"simulated @{where}"


def missing_key_error() -> AuthenticationError:
    """The error for "no key configured" on WaveSpeed's API, with what to do about it."""
    return AuthenticationError(
        "No WaveSpeed API key is set, so nothing was sent. Set the WAVESPEED_API_KEY "
        "environment variable (in a notebook, klein_widget.set_api_key() asks for it). To "
        "try everything without a key, use the local emulator: klein_widget.use_emulator() "
        "in a notebook, or run `klein emulator` and set WAVESPEED_BASE_URL as it says."
    )


def submit_path(model: str) -> str:
    """Path of a model's submit endpoint."""
    return f"/api/v3/{model}"


def result_path(task_id: str) -> str:
    """Path of the result endpoint every official client polls."""
    return f"/api/v3/predictions/{task_id}/result"
