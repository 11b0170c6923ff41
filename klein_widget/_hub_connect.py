"""In a JupyterHub single-user server, find the class's gateway (a Hub service) and use it
with the server's own Hub token: students paste nothing.

A server's kernels see ``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL`` and
``JUPYTERHUB_USER``. The gateway is the Hub service ``klein`` (``$KLEIN_HUB_SERVICE`` names
another): the Hub's API says where it listens (``GET {api}/services/klein``, allowed by the
roles in ``klein gateway jupyterhub-config``); else it is ``$JUPYTERHUB_PUBLIC_URL`` +
``/services/klein``. Outside a Hub, or with a ``$WAVESPEED_API_KEY`` of one's own, nothing
happens.

Example:
    >>> hub_gateway_url({})  # not in a Hub: None
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from klein_widget._session import session
from klein_widget.client import _config
from klein_widget.client._transport import shared_ssl_context

__all__ = ["class_gateway", "hub_gateway_url", "use_hub_gateway"]

SERVICE_ENV = "KLEIN_HUB_SERVICE"


def hub_gateway_url(env: Mapping[str, str]) -> str | None:
    """The class gateway's base URL for a server with environment ``env``, or None."""
    token, api = env.get("JUPYTERHUB_API_TOKEN"), env.get("JUPYTERHUB_API_URL")
    if not (token and api and env.get("JUPYTERHUB_USER")):
        return None
    name = env.get(SERVICE_ENV) or "klein"
    try:
        reply = httpx.get(
            f"{api.rstrip('/')}/services/{quote(name, safe='')}",
            headers={"Authorization": f"token {token}"},
            timeout=5.0,
            verify=shared_ssl_context(),
        )
    except httpx.HTTPError:
        reply = None
    if reply is not None and reply.status_code == 200:
        model = reply.json()
        url, prefix = model.get("url"), model.get("prefix") or f"/services/{name}/"
        if isinstance(url, str) and url:
            return url.rstrip("/") + "/" + str(prefix).strip("/")
    public = env.get("JUPYTERHUB_PUBLIC_URL")
    if public and reply is not None and reply.status_code in (200, 403):
        return f"{public.rstrip('/')}/services/{name}"
    return None


def class_gateway(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The class gateway's base URL and the server's Hub token to sign in with, for a
    server with environment ``env``; None outside a Hub, with no gateway there, or with a
    WaveSpeed key of one's own. Sets the environment for this process, so snippets,
    ``!klein`` and the ``klein`` command in a Hub terminal reach the gateway too."""
    token = env.get("JUPYTERHUB_API_TOKEN")
    own_key = env.get(_config.API_KEY_ENV)
    if not token or (own_key and own_key != token):
        return None
    url = hub_gateway_url(env)
    if url is None:
        return None
    os.environ[_config.BASE_URL_ENV] = url
    os.environ[_config.API_KEY_ENV] = token
    return url, token


def use_hub_gateway(*, quiet: bool = False) -> str | None:
    """Point the session at the class's gateway with the server's Hub token (`class_gateway`);
    returns its URL, or None (not in a Hub, no gateway there, or a WaveSpeed key of one's
    own)."""
    found = class_gateway(os.environ)
    if found is None:
        return None
    url, token = found
    shared = session()
    shared.leave_emulator()
    shared.configure(base_url=url, api_key=token)
    if not quiet:
        print(
            f"Using FLUX.2 [klein] through your class's gateway ({url}), signed in by "
            f"JupyterHub as {os.environ.get('JUPYTERHUB_USER')}: no key needed."
        )
    return url
