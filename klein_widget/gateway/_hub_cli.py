"""The Hub parts of ``klein gateway``: ``serve --hub`` (the gateway as a JupyterHub-managed
service, `klein_widget.gateway._hub`) and ``jupyterhub-config`` (`jupyterhub_config`: the
block a teacher adds to ``jupyterhub_config.py``: the gateway as a Hub-managed service at
``/services/<name>/``, its roles, and where its database, image store and WaveSpeed key
live. The key is never written into the config: the gateway reads it from a file, or the
Hub passes its own ``$WAVESPEED_API_KEY`` on).

Example:
    $ klein gateway jupyterhub-config --dir /srv/klein >> jupyterhub_config.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["add_hub_arguments", "hub_config", "jupyterhub_config", "serve_hub"]


def add_hub_arguments(
    serve: argparse.ArgumentParser, commands: Any, dollars: Callable[[str], int]
) -> None:
    """``serve``'s Hub options and the ``jupyterhub-config`` command (``commands``: the
    parser's subparsers; ``dollars``: the CLI's budget parser)."""

    def budget_text(text: str) -> str:
        dollars(text)  # checked here, written into the config as given
        return text

    hub = serve.add_argument_group("as a JupyterHub service (see jupyterhub-config)")
    hub.add_argument("--hub", action="store_true", help="run as the Hub's managed service")
    hub.add_argument(
        "--key-file", type=Path, help="the WaveSpeed key's file (else $WAVESPEED_API_KEY)"
    )
    hub.add_argument("--hub-budget", type=dollars, default=dollars("2.00"),
                     help="a Hub user's budget when first seen, dollars")  # fmt: skip
    config = commands.add_parser(
        "jupyterhub-config",
        help="print the block that runs the gateway as a JupyterHub service",
        description="Print the block a teacher adds to jupyterhub_config.py: the gateway as "
        "a Hub-managed service at /services/NAME/ (students need no token).",
    )
    config.add_argument("--dir", default="/srv/klein", help="database, images, key (%(default)s)")
    config.add_argument("--name", default="klein", help="the service's name (%(default)s)")
    config.add_argument("--port", type=int, default=8800, help="its local port (%(default)s)")
    config.add_argument("--url", help="where the Hub reaches it (default http://127.0.0.1:PORT)")
    config.add_argument("--python", default=sys.executable, help="the Hub's Python (this one)")
    config.add_argument("--upstream", default="wavespeed", help="'wavespeed', 'emulator' or a URL")
    config.add_argument("--key-file", help="the WaveSpeed key's file (default DIR/wavespeed.key)")
    config.add_argument("--hub-budget", default="2.00", type=budget_text, help="dollars each")
    for parser in (hub, config):
        parser.add_argument("--hub-group", help="only this Hub group's members are students")
        parser.add_argument("--hub-teacher-group", help="this Hub group's members are teachers too")


def _api_key(key_file: Path | None) -> str | None:
    from klein_widget.client._config import API_KEY_ENV

    if key_file is None:
        return os.environ.get(API_KEY_ENV) or None
    try:
        return key_file.read_text(encoding="utf-8").strip() or None
    except OSError as error:
        raise SystemExit(f"error: cannot read the key file: {error.strerror}") from None


def serve_hub(args: argparse.Namespace) -> int:
    """``klein gateway serve --hub``: serve the gateway as the Hub's service until stopped."""
    from klein_widget.gateway._app import create_app, server_for
    from klein_widget.gateway._hub import HubLayer, HubPolicy, HubService
    from klein_widget.gateway.cli import upload_limits
    from klein_widget.serving._http import bind

    if not os.environ.get("JUPYTERHUB_API_TOKEN"):
        hint = "add the block from `klein gateway jupyterhub-config` to jupyterhub_config.py"
        print(f"error: --hub runs the gateway as a JupyterHub service: {hint}", file=sys.stderr)
        return 2
    key = _api_key(args.key_file)
    if args.upstream != "emulator" and key is None:
        print("error: no WaveSpeed key: give --key-file (or $WAVESPEED_API_KEY), or use "
              "--upstream emulator to rehearse", file=sys.stderr)  # fmt: skip
        return 2
    app = create_app(
        args.db, upstream=args.upstream, api_key=key, max_concurrency=args.concurrency,
        public_gallery=args.public_gallery, uploads=upload_limits(args),
    )  # fmt: skip
    policy = HubPolicy(args.hub_budget, args.hub_group, args.hub_teacher_group)
    hub = HubService(policy)
    app.state.hub_policy = policy
    app.add_middleware(HubLayer, service=hub)
    # The port the Hub routes to; the address is --host (0.0.0.0 where other pods reach it).
    where = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL") or f"http://127.0.0.1:{args.port}")
    sock = bind(args.host, where.port or args.port)
    sock.listen(2048)
    print(f"klein gateway serving the Hub at {hub.prefix}/ on {args.host}:{where.port} "
          f"(upstream: {app.state.gateway.upstream.label})", flush=True)  # fmt: skip
    server_for(app).run(sockets=[sock])
    return 0


def hub_config(args: argparse.Namespace) -> int:
    """``klein gateway jupyterhub-config``: print the block."""
    print(jupyterhub_config(
        folder=args.dir, name=args.name, port=args.port, url=args.url, upstream=args.upstream,
        budget=args.hub_budget, key_file=args.key_file, student_group=args.hub_group,
        teacher_group=args.hub_teacher_group, python=args.python,
    ), end="")  # fmt: skip
    return 0


def jupyterhub_config(
    *,
    folder: str = "/srv/klein",
    name: str = "klein",
    port: int = 8800,
    url: str | None = None,
    upstream: str = "wavespeed",
    budget: str = "2.00",
    key_file: str | None = None,
    student_group: str | None = None,
    teacher_group: str | None = None,
    python: str = sys.executable,
) -> str:
    """The config block, as text (Python for ``jupyterhub_config.py``). ``url``: where the
    Hub, its proxy and students' servers reach the gateway (default on this machine).

    Example:
        >>> "/services/klein/" in jupyterhub_config(folder="/srv/klein")
        True
    """
    folder = folder.rstrip("/") or "/"
    command = [python, "-m", "klein_widget", "gateway", "serve", "--hub",
               "--db", f"{folder}/class.sqlite3", "--upstream", upstream,
               "--hub-budget", budget]  # fmt: skip
    if upstream != "emulator" or key_file:
        command += ["--key-file", key_file or f"{folder}/wavespeed.key"]
    url = url or f"http://127.0.0.1:{port}"
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        command += ["--host", "0.0.0.0"]  # reached from other machines or pods
    if student_group:
        command += ["--hub-group", student_group]
    if teacher_group:
        command += ["--hub-teacher-group", teacher_group]
    args = ",\n        ".join(json.dumps(part) for part in command)
    key_line = (
        f"# The WaveSpeed key: one line in {key_file or folder + '/wavespeed.key'} (chmod 600,\n"
        "# owned by the Hub's user); the gateway reads it at start, so it is in no config\n"
        "# and in no student's environment.\n"
        "# To pass the Hub's own $WAVESPEED_API_KEY on instead, drop --key-file and add\n"
        '#     "environment": {"WAVESPEED_API_KEY": os.environ["WAVESPEED_API_KEY"]},\n'
        if upstream != "emulator"
        else "# Upstream: the built-in emulator (a rehearsal: no key, images are drawn).\n"
    )
    return f"""\
# --- klein gateway: the class's WaveSpeed gateway as a Hub service ---------------------
# (printed by `klein gateway jupyterhub-config`). Students need no token: each one's
# server finds /services/{name}/ and signs in with its own Hub token. Hub admins are the
# teachers: they open /services/{name}/dashboard through the Hub's login.
# The class database is {folder}/class.sqlite3, its images {folder}/class-images/.
{key_line}c.JupyterHub.services.append({{
    "name": {json.dumps(name)},
    "url": {json.dumps(url)},
    "command": [
        {args},
    ],
    "oauth_no_confirm": True,
}})
# The gateway reads who a token belongs to, their admin flag and groups.
c.JupyterHub.load_roles.append(
    {{"name": "klein-gateway", "services": [{json.dumps(name)}], "scopes": ["read:users"]}}
)
# Students' servers may look the service up (that is how they find it).
c.JupyterHub.load_roles.append(
    {{"name": "user", "scopes": ["self", "read:services!service={name}"]}}
)
c.JupyterHub.load_roles.append(
    {{
        "name": "server",
        "scopes": [
            "users:activity!user",
            "access:servers!server",
            "read:services!service={name}",
        ],
    }}
)
# --- end of the klein gateway block ------------------------------------------------------
"""
