"""What every teacher page shares: the teacher's login (a ``?token=`` link or its cookie)
and rendering through Jinja2 templates with autoescape (``templates/*.html`` beside this
file), so no page builds HTML by hand and no field can skip escaping.

Pages also send a Content-Security-Policy that allows only this server's own scripts and
styles (``static/``): even a value that escaped escaping could not run.

Example:
    >>> render(request, "dashboard.html", students=[])  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from klein_widget.client._ledger import money as dollars
from klein_widget.gateway._auth import TEACHER_COOKIE, is_teacher, locked_out
from klein_widget.gateway._hub import hub_teacher
from klein_widget.gateway._rows import GatewayTask
from klein_widget.gateway._state import Gateway, gateway_of
from klein_widget.gateway._tokens import token_bucket
from klein_widget.serving._http import Problem, bearer_token

__all__ = [
    "PAGE_HEADERS",
    "STATIC",
    "TEACHER_COOKIE",
    "UNCONFIRMED",
    "cost_text",
    "model_text",
    "money",
    "nsfw_flags",
    "render",
    "shown_image",
    "teacher",
]

STATIC = Path(__file__).parent / "static"
_TEMPLATES = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every {{ value }} is escaped, whatever the file's name
        undefined=jinja2.StrictUndefined,  # a misspelt field fails the test, not the page
    )
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# A cookie from before a restart is dropped with the 401, so the browser stops sending it.
_DROP_COOKIE = f'{TEACHER_COOKIE}=""; Max-Age=0; Path=/; HttpOnly; SameSite=Strict'
NOT_TEACHER = (
    "The dashboard needs the teacher token printed by `klein gateway serve`: open the "
    "/dashboard?token=... link it printed (a gateway that restarted printed a new one)."
)


def teacher(request: Request) -> Gateway:
    """The gateway, if the request carries the teacher's token (a ``?token=`` link first:
    a fresh link beats a stale cookie), or a Hub login (gateway/_hub.py); else a 401 that
    drops a stale cookie, or a 429."""
    gateway = gateway_of(request)
    if hub_teacher(request):  # logged in with the Hub: no teacher token on a Hub
        return gateway
    gateway.ensure_started()
    link = request.query_params.get("token")
    cookie = request.cookies.get(TEACHER_COOKIE)
    # A wrong token is counted under what it claims to be (a bearer token, else the cookie
    # or the link); the teacher's own is never held back, so one stale tab cannot lock the
    # teacher out.
    given = bearer_token(request) or cookie or link or ""
    bucket = token_bucket(given)
    if not is_teacher(gateway, given) and (wait := gateway.logins.wait(bucket)):
        raise locked_out(wait, "the teacher token")
    if is_teacher(gateway, link) or is_teacher(gateway, cookie):
        return gateway
    gateway.logins.failed(bucket)
    raise Problem(401, NOT_TEACHER, headers={"Set-Cookie": _DROP_COOKIE} if cookie else None)


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A page from ``templates/<template>`` with plain data (escaped by the template)."""
    # Links start with ``root``: under the Hub the pages are at its service prefix.
    context = {**context, "root": request.scope.get("root_path", "")}
    return _TEMPLATES.TemplateResponse(
        request, template, context, status_code=status, headers=PAGE_HEADERS
    )


def money(mills: int) -> str:
    """Mills as dollars to the mill, in the one format every door uses (`_ledger.money`).

    Example:
        >>> money(16)
        '$0.016'
    """
    return dollars(mills / 1000)


def nsfw_flags(gateway: Gateway, tasks: list[GatewayTask]) -> dict[str, bool]:
    """WaveSpeed's flag of each task's image, by upstream id: stored in the class database
    per image, read once from the class store's index (``has_nsfw_contents``) and kept."""
    ids = sorted({t.upstream_id for t in tasks if t.upstream_id})
    flags = gateway.db.nsfw_flags(ids)
    learned = {}
    for upstream_id in ids:
        if upstream_id not in flags:
            entry = gateway.gallery.entry(upstream_id)
            if entry is not None and entry.path is not None:  # the image is stored: final
                learned[upstream_id] = entry.nsfw
    if learned:
        gateway.db.record_nsfw_flags(learned)
    return {**flags, **learned}


UNCONFIRMED = "unconfirmed price: the family's highest known, reserved"


def model_text(task: GatewayTask) -> str:
    """A task's model as the pages show it: the family's short name (an edit with its
    number of references), or "prompt optimizer"."""
    if task.kind != "image":
        return "prompt optimizer"
    refs = len(task.inputs.images)
    return task.inputs.model + (f" ({refs} ref{'s' if refs > 1 else ''})" if refs else "")


def cost_text(task: GatewayTask) -> str:
    """A task's cost as the pages show it, marked where the price is unconfirmed."""
    unsure = task.kind == "image" and task.cost_mills and not task.inputs.price_confirmed
    return money(task.cost_mills) + (" (unconfirmed)" if unsure else "")


def shown_image(task: GatewayTask, flags: dict[str, bool], hidden: set[str]) -> dict[str, Any]:
    """What a page shows of a completed image task: its link, prompt, seed, size, owner,
    whether WaveSpeed flagged it (`nsfw_flags`) and whether the teacher hid it."""
    r = task.request
    upstream_id = task.upstream_id or ""
    return {
        "id": task.id,
        "src": f"/gateway/images/{task.id}.png",
        "prompt": r.prompt,
        "seed": r.seed,
        "size": f"{r.width}×{r.height}",
        "student": task.student,
        "model": model_text(task),
        "cached": task.cached,
        "flagged": flags.get(upstream_id, False),
        "hidden": upstream_id in hidden,
        "time": task.created_at[:19].replace("T", " "),
    }
