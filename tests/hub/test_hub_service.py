"""The gateway as a JupyterHub service, against a real Hub (tests/hub/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from klein_widget.gateway._db import ClassDB
from klein_widget.gateway.cli import main
from tests.browser.harness import launch_chromium
from tests.gateway import loopback
from tests.hub.conftest import CANARY_KEY, Hub

pytestmark = pytest.mark.slow


def test_gateway_answers_under_the_hub_prefix(hub: Hub) -> None:
    reply = loopback.get(hub.url + "/services/klein/", timeout=10)
    assert reply.json()["name"] == "klein gateway"


KERNEL = """
import json, os
import klein_widget
from klein_widget import session
url = klein_widget.connect()
made = []
for _ in range(int(os.environ.get("IMAGES", "1"))):
    try:
        image = session().client().generate("a fox in the snow", width=256, height=256)
        made.append({"ok": True, "png": image.image[:8] == b"\\x89PNG\\r\\n\\x1a\\n"})
    except Exception as error:  # the test reads what the student would see
        made.append({"ok": False, "error": type(error).__name__, "message": str(error)})
print("RESULT " + json.dumps({"url": url, "made": made, "env": dict(os.environ)}))
"""


def run_kernel(hub: Hub, user: str, images: int) -> tuple[dict[str, object], str]:
    """Run a kernel's code with the environment ``user``'s single-user server gives it."""
    env = {**hub.kernel_env(user), "IMAGES": str(images)}
    done = subprocess.run([sys.executable, "-c", KERNEL], env=env, capture_output=True,
                          text=True, timeout=120, cwd=env["HOME"])  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT ")), done.stdout + done.stderr


def test_students_make_images_with_no_token_and_budgets_hold_per_hub_user(hub: Hub) -> None:
    ada, ada_output = run_kernel(hub, "ada", images=3)
    bob, bob_output = run_kernel(hub, "bob", images=1)
    assert "through your class's gateway" in ada_output
    assert str(ada["url"]).endswith("/services/klein")
    # The class budget is $0.02 and an image $0.008: two images, then a clear refusal.
    made = ada["made"]
    assert [m["ok"] for m in made] == [True, True, False], made
    assert all(m["png"] for m in made[:2])
    assert "budget" in made[2]["message"]
    assert "ask your teacher" in made[2]["message"]
    assert bob["made"] == [{"ok": True, "png": True}]  # ada's spending is not bob's
    db = ClassDB(hub.folder / "class.sqlite3")
    try:
        spent = {s.name: s.spent_mills for s in db.students()}
    finally:
        db.close()
    assert (spent["ada"], spent["bob"]) == (16, 8)  # the run's other tests have users too
    # The teacher's key is nowhere a student can see: environment, output, home folder.
    for env, output in ((ada["env"], ada_output), (bob["env"], bob_output)):
        assert CANARY_KEY not in json.dumps(env)
        assert CANARY_KEY not in output
    for path in hub.tmp.glob("home-*/**/*"):
        if path.is_file():
            assert CANARY_KEY.encode() not in path.read_bytes(), path


def hub_login(hub: Hub, user: str) -> httpx.Client:
    """A browser-like client logged in to the Hub as ``user`` (the dummy authenticator)."""
    client = httpx.Client(base_url=hub.url, follow_redirects=True, timeout=30)
    page = client.get("/hub/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert xsrf is not None, page.text[:500]
    form = {"username": user, "password": "x", "_xsrf": xsrf[1]}
    reply = client.post("/hub/login", data=form, follow_redirects=False)  # not to a server
    assert reply.status_code == 302, reply.text[:500]
    return client


def test_only_a_teacher_opens_the_dashboard_through_the_hubs_login(hub: Hub) -> None:
    token = hub.server_token("cat")
    as_api = loopback.get(hub.url + "/services/klein/dashboard",
                          headers={"Authorization": f"Bearer {token}"}, timeout=20)  # fmt: skip
    assert as_api.status_code == 302  # a student's token is no teacher's: off to the Hub's login
    assert "/hub/api/oauth2/authorize" in as_api.headers["location"]
    with contextlib.closing(hub_login(hub, "cat")) as student:
        refused = student.get("/services/klein/dashboard")
        assert refused.status_code == 403
        assert "class dashboard" not in refused.text
        assert student.get("/services/klein/dashboard/state.json").status_code == 403
    with contextlib.closing(hub_login(hub, "teacher")) as teacher:
        page = teacher.get("/services/klein/dashboard")
        assert page.status_code == 200, page.text[:500]
        assert "class dashboard" in page.text
        assert CANARY_KEY not in page.text
        # The page's links carry the service's prefix, so they work through the Hub.
        for outside in ("'/dashboard", '"/dashboard', "'/gateway/", '"/gateway/'):
            assert outside not in page.text
        assert teacher.get("/services/klein/dashboard/state.json").status_code == 200


def test_revoked_hub_students_are_refused_and_wrong_tokens_lock_out_no_address(hub: Hub) -> None:
    token = hub.server_token("dan")
    headers = {"Authorization": f"Bearer {token}"}
    missing = hub.url + "/services/klein/api/v3/predictions/" + "0" * 32 + "/result"
    assert loopback.get(missing, headers=headers, timeout=20).status_code == 404  # enrolled
    # Thirty wrong tokens from the address every student shares (the Hub's proxy)...
    for n in range(30):
        wrong = loopback.get(missing, headers={"Authorization": f"Bearer wrong{n}"}, timeout=20)
        assert wrong.status_code == 401
        assert "Hub did not accept" in wrong.json()["message"]
    # ...lock nobody out: a student's own token still works from that address.
    assert loopback.get(missing, headers=headers, timeout=20).status_code == 404
    # The teacher turns dan off (as from the dashboard, or `klein gateway revoke`).
    assert main(["revoke", "dan", "--db", str(hub.folder / "class.sqlite3")]) == 0
    refused = loopback.get(missing, headers=headers, timeout=20)
    assert refused.status_code == 401
    assert "turned off by your teacher" in refused.json()["message"]


@pytest.mark.browser
def test_the_teacher_opens_the_dashboard_in_chromium_through_the_hubs_login(
    hub: Hub, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    # eve's first request enrolls her, so the page lists a student of the class.
    headers = {"Authorization": f"Bearer {hub.server_token('eve')}"}
    loopback.get(hub.url + "/services/klein/api/v3/predictions/" + "0" * 32, headers=headers)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page()
            page.goto(hub.url + "/hub/login?next=/services/klein/dashboard", timeout=60_000)
            page.fill("#username_input", "teacher")
            page.fill("#password_input", "any password: the dummy authenticator")
            page.click("#login_submit")
            page.wait_for_url("**/services/klein/dashboard", timeout=60_000)
            page.get_by_text("klein gateway · class dashboard").wait_for(timeout=30_000)
            page.get_by_role("cell", name="eve", exact=True).wait_for(timeout=30_000)
            page.screenshot(path=tmp_path / "dashboard-through-the-hub.png", full_page=True)
            assert CANARY_KEY not in page.content()
        finally:
            browser.close()


def test_a_key_of_ones_own_or_no_hub_changes_nothing(hub: Hub) -> None:
    env = {**hub.kernel_env("fay"), "IMAGES": "0", "WAVESPEED_API_KEY": "wsk-fays-own-key"}
    done = subprocess.run([sys.executable, "-c", KERNEL], env=env, capture_output=True,
                          text=True, timeout=120, cwd=env["HOME"])  # fmt: skip
    assert "Using WaveSpeed at https://api.wavespeed.ai" in done.stdout, done.stderr[-2000:]
    outside = {k: v for k, v in env.items() if not k.startswith(("JUPYTERHUB_", "WAVESPEED_"))}
    done = subprocess.run([sys.executable, "-c", KERNEL], env=outside, capture_output=True,
                          text=True, timeout=120, cwd=env["HOME"])  # fmt: skip
    assert "Using the local emulator" in done.stdout, done.stderr[-2000:]


def test_the_klein_command_in_a_hub_terminal_uses_the_class_gateway(hub: Hub) -> None:
    """A terminal in a student's server has the same variables as its kernels: `klein
    generate` finds the class's gateway too, with no token pasted."""
    env = hub.kernel_env("gus")
    klein = Path(sys.executable).with_name("klein")
    out = Path(env["HOME"]) / "fox.png"
    done = subprocess.run(
        [str(klein), "generate", "a fox in a Hub terminal", "--width", "256", "--height", "256",
         "--seed", "5", "-o", str(out)],
        env={**env, "KLEIN_GALLERY": "off"}, capture_output=True, text=True, timeout=120,
        cwd=env["HOME"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Using your class's gateway" in done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    db = ClassDB(hub.folder / "class.sqlite3")
    try:
        spent = {s.name: s.spent_mills for s in db.students()}
    finally:
        db.close()
    assert spent["gus"] == 8  # paid from gus's class budget, by the gateway
    assert CANARY_KEY not in done.stdout + done.stderr


def run_in_spawned_kernel(hub: Hub, user: str, code: str) -> str:
    """Spawn ``user``'s real single-user server (the Hub's local-process spawner), start a
    kernel in it and run ``code``; returns what the kernel printed."""
    hub.admin("POST", f"/users/{user}")
    started = hub.admin("POST", f"/users/{user}/server")
    assert started.status_code in (201, 202), started.text
    deadline = time.monotonic() + 120
    while not hub.admin("GET", f"/users/{user}").json()["servers"].get("", {}).get("ready"):
        assert time.monotonic() < deadline, hub.log.read_text()[-3000:]
        time.sleep(0.5)
    server = f"{hub.url}/user/{user}"
    headers = {"Authorization": f"token {hub.admin_token}"}
    kernel = loopback.post(f"{server}/api/kernels", headers=headers, json={}, timeout=60)
    assert kernel.status_code == 201, kernel.text
    return asyncio.run(
        _execute(server.replace("http", "ws", 1), kernel.json()["id"], headers, code)
    )


async def _execute(server: str, kernel: str, headers: dict[str, str], code: str) -> str:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = f"{server}/api/kernels/{kernel}/channels"
    socket = await websocket_connect(HTTPRequest(url, headers=headers, connect_timeout=30))
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
              "session": uuid.uuid4().hex, "version": "5.3", "date": ""}  # fmt: skip
    content = {"code": code, "silent": False, "store_history": False,
               "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}  # fmt: skip
    message = {"header": header, "parent_header": {}, "metadata": {}, "content": content,
               "channel": "shell", "buffers": []}  # fmt: skip
    await socket.write_message(json.dumps(message))
    printed = []
    while True:
        raw = await asyncio.wait_for(socket.read_message(), timeout=120)
        assert raw is not None, "the kernel's channels closed"
        reply = json.loads(raw)
        if reply.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = reply["header"]["msg_type"]
        if kind == "stream":
            printed.append(reply["content"]["text"])
        elif kind == "error":
            printed.append("\n".join(reply["content"]["traceback"]))
        elif kind == "status" and reply["content"]["execution_state"] == "idle":
            socket.close()
            return "".join(printed)


def test_a_kernel_in_a_spawned_server_makes_an_image_with_no_token(hub: Hub) -> None:
    transport = "from ipykernel.kernelapp import IPKernelApp\n" \
        "print('TRANSPORT', IPKernelApp.instance().transport)\n"  # fmt: skip
    printed = run_in_spawned_kernel(hub, "hal", KERNEL + transport)
    assert "TRANSPORT ipc" in printed  # the server's kernels bind no TCP port (tests/kernels.py)
    line = next(x for x in printed.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert result["made"] == [{"ok": True, "png": True}], printed[-2000:]
    assert str(result["url"]).endswith("/services/klein")
    env = result["env"]
    assert env["JUPYTERHUB_USER"] == "hal"
    assert env["WAVESPEED_API_KEY"] == env["JUPYTERHUB_API_TOKEN"]  # set by connect(): hal's own
    assert CANARY_KEY not in json.dumps(env)
    assert CANARY_KEY not in printed
