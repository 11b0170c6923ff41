"""The gateway as a JupyterHub service, against a real Hub (tests/hub/conftest.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from klein_widget.gateway._db import ClassDB
from tests.hub.conftest import CANARY_KEY, Hub

pytestmark = pytest.mark.slow


def test_gateway_answers_under_the_hub_prefix(hub: Hub) -> None:
    reply = httpx.get(hub.url + "/services/klein/", timeout=10)
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
    assert spent == {"ada": 16, "bob": 8}
    # The teacher's key is nowhere a student can see: environment, output, home folder.
    for env, output in ((ada["env"], ada_output), (bob["env"], bob_output)):
        assert CANARY_KEY not in json.dumps(env)
        assert CANARY_KEY not in output
    for path in hub.tmp.glob("home-*/**/*"):
        if path.is_file():
            assert CANARY_KEY.encode() not in path.read_bytes(), path
