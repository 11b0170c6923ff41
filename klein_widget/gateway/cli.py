"""``klein gateway ...`` (or ``python -m klein_widget gateway ...``): run a classroom gateway
and manage its students.

Example:
    $ klein gateway add-student ada --budget 2.00 --db class.sqlite3
    kgw_...                                   (give this token to ada; it is shown once)
    $ klein gateway serve --port 8800 --db class.sqlite3 --upstream emulator
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "main"]


def _dollars(text: str) -> int:
    """Dollars (``2.00``) as whole mills; refuses negatives and fractions of a mill."""
    try:
        value = Decimal(text.strip().lstrip("$"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"a budget is dollars like 2.00, not {text!r}") from None
    mills = value * 1000
    if not value.is_finite() or value < 0 or mills != mills.to_integral_value():
        raise argparse.ArgumentTypeError(f"a budget is dollars like 2.00, not {text!r}")
    return int(mills)


def build_parser() -> argparse.ArgumentParser:
    """The ``klein gateway`` parser."""
    p = argparse.ArgumentParser(
        prog="klein gateway",
        description="A classroom gateway: students use their own token with the teacher's "
        "WaveSpeed key (from $WAVESPEED_API_KEY, never shown), within a budget.",
    )
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        sub.add_argument(
            "--db", default="class.sqlite3", help="the class database (default %(default)s)"
        )
        return sub

    serve = command("serve", "serve the gateway until Ctrl-C")
    serve.add_argument("--host", help="address (default 127.0.0.1; 0.0.0.0: the whole network)")
    serve.add_argument("--port", type=int, default=8800, help="port (default %(default)s)")
    serve.add_argument(
        "--upstream",
        default="wavespeed",
        help="'wavespeed' (default, needs $WAVESPEED_API_KEY), 'emulator', or a base URL",
    )
    serve.add_argument("--concurrency", type=int, default=8, help="most tasks upstream at once")
    serve.add_argument(
        "--public-gallery", action="store_true", help="students may read each other's tasks"
    )
    serve.add_argument("--key-file", type=Path, help="read the WaveSpeed key from this file")
    _hub_options(serve)
    hub = commands.add_parser(
        "jupyterhub-config",
        help="print the block that runs the gateway as a JupyterHub service",
        description="Print the block a teacher adds to jupyterhub_config.py: the gateway as "
        "a Hub-managed service at /services/NAME/ (students need no token).",
    )
    hub.add_argument("--dir", default="/srv/klein", help="database, images, key (%(default)s)")
    hub.add_argument("--name", default="klein", help="the service's name (%(default)s)")
    hub.add_argument("--port", type=int, default=8800, help="its local port (%(default)s)")
    hub.add_argument("--url", help="where the Hub reaches it (default http://127.0.0.1:PORT)")
    hub.add_argument("--python", default=sys.executable, help="the Hub's Python (this one)")
    hub.add_argument("--upstream", default="wavespeed", help="'wavespeed', 'emulator' or a URL")
    hub.add_argument("--key-file", help="the WaveSpeed key's file (default DIR/wavespeed.key)")
    hub.add_argument("--hub-budget", default="2.00", type=_budget_text, help="dollars each")
    hub.add_argument("--hub-group", help="only this Hub group's members are students")
    hub.add_argument("--hub-teacher-group", help="this Hub group's members are teachers too")
    add = command("add-student", "add a student and print their token (shown once)")
    add.add_argument("name")
    add.add_argument("--budget", type=_dollars, default=_dollars("2.00"), help="dollars")
    command("list", "list students, spend and budgets")
    revoke = command("revoke", "turn a student's token off")
    revoke.add_argument("name")
    budget = command("set-budget", "set a student's budget in dollars")
    budget.add_argument("name")
    budget.add_argument("budget", type=_dollars)
    roster = command("import", "add every student of a CSV (name,budget); prints their tokens")
    roster.add_argument("csv", type=Path)
    export = command("export-pack", "write the class's images as a lesson pack (klein pack)")
    export.add_argument("-o", "--out", required=True, help="the pack: a .zip, else a folder")
    return p


def _budget_text(text: str) -> str:
    _dollars(text)  # checked here, written into the config as given
    return text


def _hub_options(serve: argparse.ArgumentParser) -> None:
    hub = serve.add_argument_group("as a JupyterHub service (see jupyterhub-config)")
    hub.add_argument("--hub", action="store_true", help="run as the Hub's service")
    hub.add_argument("--hub-budget", type=_dollars, default=_dollars("2.00"),
                     help="a Hub user's budget when first seen, dollars")  # fmt: skip
    hub.add_argument("--hub-group", help="only this Hub group's members are students")
    hub.add_argument("--hub-teacher-group", help="this Hub group's members are teachers too")


def _api_key(args: argparse.Namespace) -> str | None:
    from klein_widget.client._config import API_KEY_ENV

    if args.key_file is not None:
        try:
            return args.key_file.read_text(encoding="utf-8").strip() or None
        except OSError as error:
            raise SystemExit(f"error: cannot read the key file: {error.strerror}") from None
    return os.environ.get(API_KEY_ENV) or None


def _serve(args: argparse.Namespace) -> int:
    from klein_widget.client._config import API_KEY_ENV
    from klein_widget.emulator._server import bind, url_for
    from klein_widget.gateway._app import create_app
    from klein_widget.gateway._server import server_for

    if args.hub and not os.environ.get("JUPYTERHUB_API_TOKEN"):
        hint = "add the block from `klein gateway jupyterhub-config` to jupyterhub_config.py"
        print(f"error: --hub runs the gateway as a JupyterHub service: {hint}", file=sys.stderr)
        return 2
    key = _api_key(args)
    if args.upstream != "emulator" and key is None:
        print(f"error: set {API_KEY_ENV} to the teacher's WaveSpeed key (or use --upstream "
              "emulator to rehearse)", file=sys.stderr)  # fmt: skip
        return 2
    app = create_app(
        args.db,
        upstream=args.upstream,
        api_key=key,
        max_concurrency=args.concurrency,
        public_gallery=args.public_gallery,
    )
    if args.hub:
        return _serve_hub(args, app)
    host = args.host or "127.0.0.1"
    sock = bind(host, args.port)
    sock.listen(2048)  # connections made as soon as the URL is printed wait, not fail
    base = url_for(host, sock.getsockname()[1])
    gateway = app.state.gateway
    print(f"klein gateway listening on {base} (upstream: {gateway.upstream.label})")
    print(f"teacher dashboard: {base}/dashboard?token={gateway.teacher_token}")
    print("students set (each with their own token from `klein gateway add-student`):")
    print(f"    export WAVESPEED_BASE_URL={base}")
    print("    export WAVESPEED_API_KEY=<their token>", flush=True)
    server_for(app, log_level="warning").run(sockets=[sock])
    return 0


def _serve_hub(args: argparse.Namespace, app: Any) -> int:
    from urllib.parse import urlsplit

    from klein_widget.emulator._server import bind
    from klein_widget.gateway._hub import HubPolicy, HubService
    from klein_widget.gateway._server import server_for

    policy = HubPolicy(args.hub_budget, args.hub_group, args.hub_teacher_group)
    hub = HubService(policy)
    app.state.hub_policy = policy
    # Where the Hub says the service listens, unless --host says (0.0.0.0 in a Hub pod).
    where = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL") or f"http://127.0.0.1:{args.port}")
    sock = bind(args.host or where.hostname or "127.0.0.1", where.port or args.port)
    sock.listen(2048)
    print(f"klein gateway serving the Hub at {hub.prefix}/ on {where.hostname}:{where.port} "
          f"(upstream: {app.state.gateway.upstream.label})", flush=True)  # fmt: skip
    server_for(hub.wrap(app), log_level="warning").run(sockets=[sock])
    return 0


def _hub_config(args: argparse.Namespace) -> int:
    from klein_widget.gateway._hub_config import jupyterhub_config

    print(jupyterhub_config(
        folder=args.dir, name=args.name, port=args.port, url=args.url, upstream=args.upstream,
        budget=args.hub_budget, key_file=args.key_file, student_group=args.hub_group,
        teacher_group=args.hub_teacher_group, python=args.python,
    ), end="")  # fmt: skip
    return 0


def _roster(db: object, path: Path) -> int:
    from klein_widget.gateway._db import ClassDB

    assert isinstance(db, ClassDB)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
    if rows and rows[0][0].strip().lower() == "name":
        rows = rows[1:]
    failed = 0
    for row in rows:
        name = row[0].strip()
        try:
            mills = _dollars(row[1]) if len(row) > 1 and row[1].strip() else _dollars("2.00")
            print(f"{name},{db.add_student(name, mills)}")
        except (ValueError, argparse.ArgumentTypeError) as error:
            print(f"error: {name}: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _export(args: argparse.Namespace) -> int:
    from klein_widget.gateway._state import export_pack, images_folder
    from klein_widget.store._pack_files import PackError

    try:
        manifest = export_pack(images_folder(args.db), args.out)
    except PackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(manifest['images'])} images (students open it with --pack)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``klein gateway``; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "export-pack":
        return _export(args)
    if args.command == "jupyterhub-config":
        return _hub_config(args)
    from klein_widget.gateway._db import ClassDB

    db = ClassDB(args.db)
    try:
        if args.command == "add-student":
            print(db.add_student(args.name, args.budget))
        elif args.command == "list":
            print(f"{'student':20} {'spent':>9} {'budget':>9}  state")
            for s in db.students():
                state = "revoked" if s.revoked else "active"
                spent, budget = s.spent_mills / 1000, s.budget_mills / 1000
                print(f"{s.name:20} ${spent:>8.3f} ${budget:>8.3f}  {state}")
        elif args.command == "revoke":
            db.revoke(args.name)
            print(f"{args.name}'s token no longer works")
        elif args.command == "set-budget":
            db.set_budget(args.name, args.budget)
            print(f"{args.name}'s budget is now ${args.budget / 1000:.2f}")
        elif args.command == "import":
            return _roster(db, args.csv)
    except (KeyError, ValueError) as error:
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0
