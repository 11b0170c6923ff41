"""The teacher's dashboard at ``/dashboard``: spend and budgets, the live queue, the class
gallery (click to enlarge), revoke and budget controls, the lesson-pack export.
Server-rendered HTML with a little plain JavaScript (no CDN); student text is escaped.

Opening ``/dashboard?token=<teacher token>`` sets an HttpOnly, SameSite=Strict cookie and
drops the token from the address bar; forms post back to the same origin.

Example:
    $ klein gateway serve --db class.sqlite3   # prints http://127.0.0.1:8800/dashboard?token=...
"""

from __future__ import annotations

import hmac
import tempfile
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from klein_widget.emulator._http import Problem
from klein_widget.gateway._api import guard_logins
from klein_widget.gateway._hub import hub_teacher
from klein_widget.gateway._rows import GatewayTask
from klein_widget.gateway._state import Gateway, export_pack, gateway_of
from klein_widget.store._pack_files import PackError

__all__ = ["TEACHER_COOKIE", "budget", "dashboard", "pack", "revoke", "state"]

TEACHER_COOKIE = "klein_teacher"
_STYLE = """
body{font:15px system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
header{background:#1d3557;color:#fff;padding:12px 20px}header h1{margin:0;font-size:20px}
main{padding:16px 20px;display:grid;gap:18px}section{background:#fff;border-radius:8px;
padding:12px 16px;box-shadow:0 1px 3px #0002}h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}td,th{padding:5px 8px;border-bottom:1px solid #eee;
text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
.revoked{color:#999;text-decoration:line-through}form{display:inline}
input[type=number]{width:6em}button{cursor:pointer}
#gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:12px}
figure{margin:0}figure img{width:100%;border-radius:6px;cursor:zoom-in;background:#ddd}
figcaption{font-size:13px;color:#444}#lightbox{position:fixed;inset:0;background:#000c;
display:none;align-items:center;justify-content:center;flex-direction:column;color:#fff}
#lightbox img{height:80vh;max-width:92vw;object-fit:contain}#lightbox.open{display:flex}
"""
_SCRIPT = """
const box=document.getElementById('lightbox');
document.querySelectorAll('#gallery img').forEach(img=>img.addEventListener('click',()=>{
  box.querySelector('img').src=img.src;
  box.querySelector('p').textContent=img.dataset.caption;box.classList.add('open');}));
box.addEventListener('click',()=>box.classList.remove('open'));
async function refresh(){
  try{const r=await fetch('/dashboard/state.json',{credentials:'same-origin'});
    if(!r.ok)return;const s=await r.json();
    document.getElementById('running').textContent=s.running;
    document.getElementById('queued').textContent=s.queued;
    document.getElementById('limit').textContent=s.limit;
    const body=document.getElementById('queue');body.replaceChildren();
    for(const t of s.tasks){const tr=document.createElement('tr');
      for(const v of [t.position??'–', t.student, t.status, t.prompt]){
        const td=document.createElement('td');td.textContent=v;tr.appendChild(td);}
      body.appendChild(tr);}
  }catch(e){}
}
refresh();setInterval(refresh,2000);
"""


def _teacher(request: Request) -> Gateway:
    """The gateway, if the request carries the teacher's token; else a 401 / 429."""
    if hub_teacher(request):  # logged in with the Hub (gateway/_hub.py)
        return gateway_of(request)
    gateway, address = guard_logins(request, whose="the teacher token")
    given = request.cookies.get(TEACHER_COOKIE) or request.query_params.get("token") or ""
    if not hmac.compare_digest(given.encode(), gateway.teacher_token.encode()):
        gateway.logins.failed(address)
        raise Problem(
            401,
            "The dashboard needs the teacher token printed by `klein gateway serve`: open "
            "the /dashboard?token=... link it printed.",
        )
    return gateway


def _money(mills: int) -> str:
    return f"${mills / 1000:.3f}"


def _students_html(gateway: Gateway) -> str:
    counts = gateway.db.counts()
    rows = []
    for s in gateway.db.students():
        c = counts.get(s.name, {})
        name = escape(s.name)
        path = quote(s.name, safe="")
        cls = ' class="revoked"' if s.revoked else ""
        revoke = (
            "revoked"
            if s.revoked
            else f'<form method="post" action="/dashboard/students/{path}/revoke">'
            f'<button aria-label="revoke {name}">Revoke</button></form>'
        )
        rows.append(
            f"<tr><td{cls}>{name}</td><td class=n>{_money(s.spent_mills)}</td>"
            f"<td class=n>{_money(s.budget_mills)}</td><td class=n>{c.get('images', 0)}</td>"
            f"<td class=n>{c.get('cached', 0)}</td><td class=n>{c.get('waiting', 0)}</td>"
            f'<td><form method="post" action="/dashboard/students/{path}/budget">'
            f'<input type="number" name="budget" step="0.01" min="0" '
            f'value="{s.budget_mills / 1000:.2f}" aria-label="budget of {name}">'
            f"<button>Set budget</button></form></td><td>{revoke}</td></tr>"
        )
    head = (
        "<tr><th>student</th><th>spent</th><th>budget</th><th>images</th><th>from store</th>"
        "<th>waiting</th><th></th><th></th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _figure(task: GatewayTask) -> str:
    r = task.request
    caption = f"{r.prompt} · seed {r.seed} · {r.width}×{r.height} · {task.student}"
    return (
        f'<figure><img loading="lazy" src="/gateway/images/{task.id}.png" '
        f'alt="{escape(r.prompt)}" data-caption="{escape(caption)}">'
        f"<figcaption>{escape(r.prompt)}<br>seed {r.seed} · {escape(task.student)}"
        f"{' · from store' if task.cached else ''}</figcaption></figure>"
    )


async def dashboard(request: Request) -> Response:
    """``GET /dashboard``: the page (``?token=`` logs in and redirects without it)."""
    gateway = _teacher(request)
    if "token" in request.query_params:
        response: Response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(TEACHER_COOKIE, gateway.teacher_token, httponly=True, samesite="strict")
        return response
    spent = sum(s.spent_mills for s in gateway.db.students())
    # A rehearsal on the emulator bills nothing: say so beside the class's spend.
    simulated = " simulated (the emulator bills nothing)" if gateway.upstream.simulated else ""
    figures = "".join(_figure(t) for t in gateway.db.gallery(limit=60)) or "<p>No images yet.</p>"
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>klein gateway · class dashboard</title><style>{_STYLE}</style></head><body>
<header><h1>klein gateway · class dashboard</h1>
<div>upstream: {escape(gateway.upstream.label)} ·
class spend {_money(spent)}{simulated}</div></header>
<main><section><h2>Students</h2>{_students_html(gateway)}</section>
<section><h2>Live queue</h2><p>running <b id="running">{gateway.dispatcher.running}</b> ·
queued <b id="queued">{gateway.dispatcher.queued}</b> · upstream slots
<b id="limit">{gateway.dispatcher.concurrency.limit}</b></p>
<table><thead><tr><th>#</th><th>student</th><th>status</th><th>prompt</th></tr></thead>
<tbody id="queue"></tbody></table></section>
<section><h2>Class gallery</h2>
<p><a href="/dashboard/pack.zip" download id="export">Export as a lesson pack</a>
(every image of the class, for <code>klein pack</code> and students' free re-runs)</p>
<div id="gallery">{figures}</div></section></main>
<div id="lightbox" role="dialog"><img alt="enlarged image"><p></p></div>
<script>{_SCRIPT}</script></body></html>"""
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


async def state(request: Request) -> Response:
    """``GET /dashboard/state.json``: the live queue, for the page's refresh."""
    gateway = _teacher(request)
    tasks = []
    for task in gateway.db.tasks("queued", "forwarding", "submitted", limit=200):
        place = gateway.dispatcher.position(task.id, task.student)
        tasks.append(
            {
                "position": place[0] if place else None,
                "student": task.student,
                "status": "waiting" if task.status == "queued" else "upstream",
                "prompt": task.request.prompt[:120],
            }
        )
    return JSONResponse(
        {
            "running": gateway.dispatcher.running,
            "queued": gateway.dispatcher.queued,
            "limit": gateway.dispatcher.concurrency.limit,
            "tasks": sorted(tasks, key=lambda t: (t["position"] is None, t["position"] or 0)),
        }
    )


async def pack(request: Request) -> Response:
    """``GET /dashboard/pack.zip``: the class's images as a lesson pack (`export_pack`)."""
    gateway = _teacher(request)

    def build() -> bytes:
        with tempfile.TemporaryDirectory(prefix="klein-gateway-pack-") as scratch:
            out = Path(scratch) / "class-pack.zip"
            export_pack(gateway.gallery.path, out)
            return out.read_bytes()

    try:
        data = await run_in_threadpool(build)
    except PackError as error:
        raise Problem(409, str(error)) from None
    disposition = 'attachment; filename="class-pack.zip"'
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": disposition}
    )


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > 4096:
        raise Problem(413, "Form too large.")
    fields = parse_qs(body.decode("utf-8", "replace"))
    return {k: v[0] for k, v in fields.items()}


def _student_name(gateway: Gateway, request: Request) -> str:
    name = request.path_params["name"]
    if gateway.db.student(name) is None:
        raise Problem(404, f"There is no student called {name[:100]!r}.")
    return str(name)


async def revoke(request: Request) -> Response:
    """``POST /dashboard/students/{name}/revoke``."""
    gateway = _teacher(request)
    gateway.db.revoke(_student_name(gateway, request))
    return RedirectResponse("/dashboard", status_code=303)


async def budget(request: Request) -> Response:
    """``POST /dashboard/students/{name}/budget`` with ``budget`` in dollars."""
    gateway = _teacher(request)
    name = _student_name(gateway, request)
    try:
        mills = round(float((await _form(request)).get("budget", "")) * 1000)
        if not 0 <= mills <= 10_000_000:
            raise ValueError
    except ValueError:
        raise Problem(400, "The budget must be a number of dollars, 0 or more.") from None
    gateway.db.set_budget(name, mills)
    return RedirectResponse("/dashboard", status_code=303)
