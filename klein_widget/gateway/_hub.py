"""The gateway as a JupyterHub service (``klein gateway serve --hub``): Hub users are
students, Hub admins (or a named group) are teachers, and nobody handles a token.

The Hub starts the gateway with ``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL`` and
``JUPYTERHUB_SERVICE_PREFIX`` (``/services/klein/``) and routes that prefix to it.
`HubLayer` is a thin ASGI layer in front of the gateway's app that

* serves the app under the prefix (``root_path``, so its links and image URLs carry it);
* resolves a Bearer token that is not a class token (``kgw_...``) to a Hub user with
  ``jupyterhub.services.auth.HubAuth.user_for_token`` (cached briefly) and leaves the user in
  the request's state, where `hub_student` (called by ``_api.authorize``, the one place a
  request becomes a student) enrolls them with the class's default budget on first use;
* logs teachers in to ``/dashboard`` with the Hub's OAuth (``/oauth_callback``), so
  `hub_teacher` (called by the dashboard's teacher check) needs no teacher token.

jupyterhub is imported only here, and only when a `HubService` is made (the ``hub`` extra).

Example:
    >>> policy = HubPolicy(budget_mills=2000, student_group="class-7b")
    >>> policy.may_study(HubUser("ada", admin=False, groups=frozenset({"class-7b"})))
    True
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from klein_widget.client._transport import shared_ssl_context
from klein_widget.gateway._rows import Student
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.serving._http import Problem

__all__ = ["HubLayer", "HubPolicy", "HubService", "HubUser", "hub_student", "hub_teacher"]

HUB_USER = "klein_hub_user"  # request state: the Hub user a Bearer token belongs to
HUB_TEACHER = "klein_hub_teacher"  # request state: a teacher logged in with the Hub
_SESSION_COOKIE = "klein-hub-session"
_OAUTH_STATE = "klein-hub-oauth-state"
_SESSION_SECONDS = 8 * 3600
CACHE_SECONDS = 60  # a Hub token's answer is kept this long (a revoked one works as long)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubUser:
    """Who a Hub token belongs to: the name, whether a Hub admin, their Hub groups."""

    name: str
    admin: bool
    groups: frozenset[str]


@dataclass(frozen=True)
class HubPolicy:
    """Who is what: ``budget_mills`` for a student enrolled on first use; only members of
    ``student_group`` are students (None: every Hub user); Hub admins and members of
    ``teacher_group`` are teachers."""

    budget_mills: int = 2000
    student_group: str | None = None
    teacher_group: str | None = None

    def may_study(self, user: HubUser) -> bool:
        """Whether this Hub user is one of the class's students."""
        return self.student_group is None or self.student_group in user.groups

    def teaches(self, user: HubUser) -> bool:
        """Whether this Hub user opens the dashboard."""
        return user.admin or (self.teacher_group is not None and self.teacher_group in user.groups)


class _Refused:
    """A Hub token the Hub did not accept (kept in the state so no address is blamed)."""


def hub_student(request: Request) -> Student | None:
    """The class student for a Hub user's request (enrolled on first use), None for a
    request that is not a Hub user's; a 401 / 403 / 429 `Problem` for one refused.
    Refusals are counted per Hub user (never per address: a class shares the Hub's)."""
    state: dict[str, Any] = request.scope.get("state") or {}
    user = state.get(HUB_USER)
    if user is None:
        return None
    gateway = gateway_of(request)
    if isinstance(user, _Refused):
        raise Problem(
            401,
            "The Hub did not accept your server's token: restart your server from the Hub's "
            "control panel (File > Hub Control Panel), then run this again.",
        )
    assert isinstance(user, HubUser)
    key = f"hub:{user.name}"
    wait = gateway.logins.wait(key)
    if wait:
        raise Problem(429, f"Too many refused requests: try again in {wait:g} s.",
                      headers={"Retry-After": str(int(wait))})  # fmt: skip
    policy: HubPolicy = request.app.state.hub_policy
    if not policy.may_study(user):
        gateway.logins.failed(key)
        raise Problem(403, f"You are not in this class's Hub group {policy.student_group!r}: "
                      "ask your teacher to add you.")  # fmt: skip
    return _enrolled(gateway, user.name, policy.budget_mills, key)


def _enrolled(gateway: Gateway, name: str, budget_mills: int, key: str) -> Student:
    student = gateway.db.student(name)
    if student is None:
        # Its class token is never shown: a Hub student signs in through the Hub. A
        # ValueError: enrolled by another request of theirs a moment ago.
        with contextlib.suppress(ValueError):
            gateway.db.add_student(name, budget_mills)
        student = gateway.db.student(name)
    if student is None:
        raise Problem(403, f"The Hub user {name[:100]!r} cannot be a student here.")
    if student.revoked:
        gateway.logins.failed(key)
        raise Problem(401, "Your access was turned off by your teacher: ask your teacher.")
    return student


def hub_teacher(request: Request) -> bool:
    """Whether the request is a teacher's, logged in with the Hub (see `HubService`)."""
    state: dict[str, Any] = request.scope.get("state") or {}
    return state.get(HUB_TEACHER) is True


# --- the few ASGI pieces the Hub layer needs -------------------------------------------


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
    """The token of an ``Authorization: Bearer`` (or ``token``) header, if any.

    Example:
        >>> bearer({"headers": [(b"authorization", b"Bearer abc")]})
        'abc'
    """
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


class HubService:
    """The Hub's side of a gateway: who a token or a browser belongs to. Made from the
    environment the Hub gives a managed service; `CACHE_SECONDS`: how long a token's
    answer is kept (a revoked Hub token works at most that long)."""

    def __init__(self, policy: HubPolicy) -> None:
        from jupyterhub.services.auth import HubOAuth  # type: ignore[import-untyped]

        self.policy = policy
        self.auth = HubOAuth(cache_max_age=CACHE_SECONDS)
        self.prefix = "/" + self.auth.base_url.strip("/")  # "/services/klein"
        self._profiles: dict[str, tuple[HubUser, float]] = {}
        self._sessions: dict[str, tuple[str, float]] = {}
        self._http = httpx.AsyncClient(timeout=10.0, verify=shared_ssl_context())

    async def user_for_token(self, token: str) -> HubUser | None:
        """The Hub user a token belongs to (None: the Hub does not know it)."""
        model = await self.auth.user_for_token(token, sync=False)
        if not isinstance(model, dict) or model.get("kind", "user") != "user":
            return None
        return await self._profile(str(model["name"]))

    async def _profile(self, name: str) -> HubUser:
        """Admin flag and groups, read with the service's own token (``read:users``): a
        server's token may not see them."""
        cached = self._profiles.get(name)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        url = f"{self.auth.api_url.rstrip('/')}/users/{quote(name, safe='')}"
        headers = {"Authorization": f"token {self.auth.api_token}"}
        answer = await self._http.get(url, headers=headers)
        model = answer.json() if answer.status_code == 200 else {}
        if answer.status_code != 200:  # no admin flag, no groups: say why teachers are refused
            hint = "has the service the read:users role `klein gateway jupyterhub-config` gives?"
            _log.warning("no profile from the Hub (%d): %s", answer.status_code, hint)
        user = HubUser(name, bool(model.get("admin")), frozenset(model.get("groups") or ()))
        self._profiles[name] = (user, time.monotonic() + CACHE_SECONDS)
        return user

    async def _teacher(self, scope: Scope, path: str, send: Send) -> bool:
        """Marks a Hub teacher's dashboard request; sends a login redirect or a refusal
        (and returns False) for anyone else, unless they bring the teacher token."""
        session = self._sessions.get(cookies(scope).get(_SESSION_COOKIE, ""))
        user = None
        if session is not None and session[1] > time.monotonic():
            user = await self.user_for_token(session[0])
        if user is not None and self.policy.teaches(user):
            scope["state"][HUB_TEACHER] = True
            return True
        if b"token=" in scope.get("query_string", b""):
            return True  # the teacher token printed at start still works
        if user is not None:
            await reply(send, 403, "<h1>403: the dashboard is the teacher's</h1><p>Only the "
                         "class's teachers (Hub admins) open it.</p>", [])  # fmt: skip
            return False
        verifier, challenge, method = self.auth.generate_pkce_code_challenge()
        next_url = self.prefix + (path if scope["method"] == "GET" else "/dashboard")
        state = self.auth.generate_state(next_url, code_verifier=verifier)
        query = {"state": state, "code_challenge": challenge, "code_challenge_method": method}
        login = self.auth.login_url + "&" + urlencode(query)
        cookie = f"{_OAUTH_STATE}={state}; Path={self.prefix}; HttpOnly; SameSite=Lax; Max-Age=600"
        headers = [(b"location", login.encode()), (b"set-cookie", cookie.encode())]
        await reply(send, 302, "", headers)
        return False

    async def _callback(self, scope: Scope, send: Send) -> None:
        """``/oauth_callback``: the Hub sends the browser back with a code; swap it for a
        token, remember it under a random session id (the token stays server-side)."""
        query = dict(httpx.QueryParams(scope.get("query_string", b"").decode("latin-1")))
        state = query.get("state", "")
        if not state or state != cookies(scope).get(_OAUTH_STATE) or "code" not in query:
            await reply(send, 400, "<h1>Login expired</h1><p>Open the dashboard again.</p>", [])
            return
        verifier = self.auth.get_code_verifier(state)
        next_url = str(self.auth.get_next_url(state))
        self.auth.clear_oauth_state(state)
        token = await self.auth.token_for_code(query["code"], code_verifier=verifier, sync=False)
        session = secrets.token_urlsafe(32)
        self._sessions = {k: v for k, v in self._sessions.items() if v[1] > time.monotonic()}
        self._sessions[session] = (token, time.monotonic() + _SESSION_SECONDS)
        if not next_url.startswith(self.prefix + "/"):
            next_url = self.prefix + "/dashboard"
        set_cookies = [
            f"{_SESSION_COOKIE}={session}; Path={self.prefix}; HttpOnly; SameSite=Lax",
            f"{_OAUTH_STATE}=; Path={self.prefix}; Max-Age=0",
        ]
        headers = [(b"location", next_url.encode())]
        headers += [(b"set-cookie", c.encode()) for c in set_cookies]
        await reply(send, 302, "", headers)


class HubLayer:
    """ASGI middleware: the gateway's app served under the Hub's prefix, with Hub identities
    (`HubService`): ``app.add_middleware(HubLayer, service=hub)``, so the app stays the
    gateway's Starlette app."""

    def __init__(self, app: ASGIApp, service: HubService) -> None:
        self.app = app
        self.hub = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app, hub = self.app, self.hub
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == hub.prefix or path.startswith(hub.prefix + "/"):
            scope = {**scope, "root_path": hub.prefix}
            path = path[len(hub.prefix) :] or "/"
        scope = {**scope, "state": dict(scope.get("state") or {})}
        if path == "/oauth_callback":
            await hub._callback(scope, send)
            return
        token = bearer(scope)
        if token is not None and not token.startswith("kgw_"):
            user = await hub.user_for_token(token)
            scope["state"][HUB_USER] = user if user is not None else _Refused()
        if path.startswith("/dashboard") and not await hub._teacher(scope, path, send):
            return
        await app(scope, receive, send)
