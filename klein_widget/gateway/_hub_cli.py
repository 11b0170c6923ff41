"""The Hub parts of ``klein gateway``: ``serve --hub`` (the gateway as a JupyterHub-managed
service, `klein_widget.gateway._hub`) and ``jupyterhub-config`` (the block a teacher adds to
``jupyterhub_config.py``, `klein_widget.gateway._hub_config`).

Example:
    $ klein gateway jupyterhub-config --dir /srv/klein >> jupyterhub_config.py
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_hub_arguments", "hub_config", "serve_hub"]


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
    hub.add_argument("--hub-group", help="only this Hub group's members are students")
    hub.add_argument("--hub-teacher-group", help="this Hub group's members are teachers too")
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
    config.add_argument("--hub-group", help="only this Hub group's members are students")
    config.add_argument("--hub-teacher-group", help="this Hub group's members are teachers too")


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
    from urllib.parse import urlsplit

    from klein_widget.gateway._app import create_app
    from klein_widget.gateway._hub import HubLayer, HubPolicy, HubService
    from klein_widget.gateway._server import server_for
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
    from klein_widget.gateway._hub_config import jupyterhub_config

    print(jupyterhub_config(
        folder=args.dir, name=args.name, port=args.port, url=args.url, upstream=args.upstream,
        budget=args.hub_budget, key_file=args.key_file, student_group=args.hub_group,
        teacher_group=args.hub_teacher_group, python=args.python,
    ), end="")  # fmt: skip
    return 0
