"""A real JupyterHub for the tests of this folder: JupyterHub from PyPI with its dummy
authenticator and local-process spawner, configurable-http-proxy from npm (installed into
``.venv/chp`` by ``scripts/test.sh``), all on 127.0.0.1; the class gateway is the managed
service that `klein gateway jupyterhub-config` prints (upstream: the emulator), and a test
service holds an admin token to make users, their servers' tokens and (once) a real
single-user server (jupyterhub-singleuser, homes under tmp).

One Hub for the whole run (it takes a few CPU-seconds to start, and its proxy, service and
spawned servers more): the first xdist worker that needs it starts it, the others use it,
and the one that started it stops it once no worker holds it (`hub`). So every test has
users of its own. Its database, cookie secret, the gateway's class and each student's home
are under the starting worker's tmp folder.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from klein_widget.gateway._hub_cli import jupyterhub_config
from tests.browser.harness import free_port
from tests.gateway import loopback
from tests.hub.sharing import shared
from tests.kernels import SERVER_ARGUMENTS, SOCKET_ROOT

REPO = Path(__file__).resolve().parents[2]
CHP = REPO / ".venv" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
CANARY_KEY = "wsk-hub-canary-7d41c09e2b5a"  # the teacher's key: searched for everywhere


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a real JupyterHub (a few seconds)")


@dataclass
class Hub:
    """A running Hub: its public address (the proxy), its API, the class's folder."""

    url: str
    api: str
    admin_token: str
    folder: Path
    tmp: Path
    log: Path

    def admin(self, method: str, path: str, **options: object) -> httpx.Response:
        """A Hub API call with the test service's admin token."""
        headers = {"Authorization": f"token {self.admin_token}"}
        return loopback.request(method, self.api + path, headers=headers, timeout=20, **options)  # type: ignore[arg-type]

    def server_token(self, user: str) -> str:
        """A token for ``user`` with the scopes the Hub gives a single-user server's
        ``$JUPYTERHUB_API_TOKEN`` (the `server` role, as the config block sets it)."""
        self.admin("POST", f"/users/{user}")  # 201, or 409 when made already
        scopes = [f"users:activity!user={user}", f"access:servers!server={user}/",
                  "read:services!service=klein"]  # fmt: skip
        reply = self.admin("POST", f"/users/{user}/tokens", json={"scopes": scopes})
        assert reply.status_code == 201, reply.text
        return str(reply.json()["token"])

    def kernel_env(self, user: str) -> dict[str, str]:
        """The environment a kernel of ``user``'s single-user server sees (the Hub's
        variables, a home of its own), without anything of this test process."""
        home = self.tmp / f"home-{user}"
        home.mkdir(exist_ok=True)
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "IPYTHONDIR": str(home / ".ipython"),
            "LANG": "C.UTF-8",
            "JUPYTERHUB_API_TOKEN": self.server_token(user),
            "JUPYTERHUB_API_URL": self.api,
            "JUPYTERHUB_USER": user,
            "JUPYTERHUB_SERVER_NAME": "",
            "JUPYTERHUB_BASE_URL": "/",
            "JUPYTERHUB_SERVICE_PREFIX": f"/user/{user}/",
            "JUPYTERHUB_CLIENT_ID": f"jupyterhub-user-{user}",
            "JUPYTERHUB_HOST": "",
        }


def _config(tmp: Path, ports: dict[str, int], admin_token: str, folder: Path) -> str:
    block = jupyterhub_config(
        folder=str(folder), port=ports["service"], upstream="emulator", budget="0.02",
        key_file=str(folder / "wavespeed.key"), teacher_group="teachers", python=sys.executable,
    )  # fmt: skip
    return f"""c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {ports["proxy"]}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {ports["hub"]}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(tmp / "proxy.pid")!r}
c.JupyterHub.pid_file = {str(tmp / "hub.pid")!r}
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "simple"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"teacher"}}
c.JupyterHub.db_url = "sqlite:///{tmp / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(tmp / "cookie_secret")!r}
{block}
c.Spawner.cmd = [{str(Path(sys.executable).parent / "jupyterhub-singleuser")!r}]
c.Spawner.default_url = "/lab"
c.Spawner.args = {["--allow-root", *SERVER_ARGUMENTS]!r}  # may run as root; kernels on ipc
# The kernels' Unix sockets are named after their connection files: a short runtime dir.
import atexit, shutil, tempfile
_runtime = tempfile.mkdtemp(prefix="jupyter-", dir={SOCKET_ROOT!r})
atexit.register(shutil.rmtree, _runtime, True)
c.Spawner.environment.update({{"JUPYTER_RUNTIME_DIR": _runtime}})
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.SimpleLocalProcessSpawner.home_dir_template = {str(tmp / "home-{username}")!r}
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {admin_token!r}}})
c.JupyterHub.load_roles.append({{"name": "test-admin", "services": ["test-admin"],
    "scopes": ["admin:users", "admin:servers", "access:servers", "tokens", "admin:groups"]}})
"""


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The run's Hub, with the class gateway as its service ``klein``: started here, or
    the one another worker started (`tests.hub.sharing`)."""

    def start() -> tuple[subprocess.Popen[bytes], dict[str, str]]:
        process, hub = _start_hub(tmp_path_factory.mktemp("hub"))
        return process, {k: str(v) for k, v in dataclasses.asdict(hub).items()}

    with shared(tmp_path_factory, "hub", start) as f:
        yield Hub(url=f["url"], api=f["api"], admin_token=f["admin_token"],
                  folder=Path(f["folder"]), tmp=Path(f["tmp"]), log=Path(f["log"]))  # fmt: skip


def _start_hub(tmp: Path) -> tuple[subprocess.Popen[bytes], Hub]:
    """Start a Hub under ``tmp`` and wait until its gateway answers through the proxy."""
    if not CHP.exists():
        pytest.fail(f"configurable-http-proxy is not at {CHP}: `bash scripts/test.sh` installs "
                    "it (npm install configurable-http-proxy into .venv/chp)")  # fmt: skip
    folder = tmp / "klein"
    folder.mkdir()
    (folder / "wavespeed.key").write_text(CANARY_KEY + "\n")
    (folder / "wavespeed.key").chmod(0o600)
    ports = {name: free_port() for name in ("proxy", "proxy_api", "hub", "service")}
    admin_token = secrets.token_hex(24)
    config = tmp / "jupyterhub_config.py"
    config.write_text(_config(tmp, ports, admin_token, folder))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAVESPEED_", "JUPYTERHUB_"))}
    log = tmp / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    hub = Hub(
        url=f"http://127.0.0.1:{ports['proxy']}",
        api=f"http://127.0.0.1:{ports['hub']}/hub/api",
        admin_token=admin_token, folder=folder, tmp=tmp, log=log,
    )  # fmt: skip
    try:
        _wait_for_gateway(hub, process)
    except BaseException:
        process.terminate()
        process.wait(timeout=30)
        raise
    return process, hub


def _wait_for_gateway(hub: Hub, process: subprocess.Popen[bytes]) -> None:
    """Until the gateway answers through the proxy (bounded: 120 s on a busy machine)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterHub exited ({process.returncode}):\n{hub.log.read_text()[-4000:]}")
        try:
            if loopback.get(hub.url + "/services/klein/", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    tail = hub.log.read_text()[-4000:]
    pytest.fail(f"the gateway did not answer through the Hub in 120 s:\n{tail}")
