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
import errno
import os
import socket
import sys
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from klein_widget.gateway._db import ClassDB
    from klein_widget.gateway._uploads import UploadLimits

__all__ = ["build_parser", "main"]


def _dollars(text: str) -> int:
    """Dollars (``2.00``) as whole mills; refuses negatives and fractions of a mill."""
    try:
        mills = Decimal(text.strip().lstrip("$")) * 1000
    except InvalidOperation:
        mills = Decimal("NaN")
    if not mills.is_finite() or mills < 0 or mills != mills.to_integral_value():
        raise argparse.ArgumentTypeError(f"a budget is dollars like 2.00, not {text!r}")
    return int(mills)


def upload_limits(args: argparse.Namespace) -> UploadLimits:
    """Each student's upload caps from ``serve``'s ``--upload-mb`` and ``--uploads-per-hour``
    (the hourly bytes stay 10 files' worth)."""
    from klein_widget.gateway._uploads import UploadLimits

    if not 0 < args.upload_mb <= 200 or args.uploads_per_hour < 1:
        raise ValueError(
            "--upload-mb must be above 0 and at most 200, --uploads-per-hour 1 or more"
        )
    size = int(args.upload_mb * (1 << 20))
    return UploadLimits(max_bytes=size, per_hour=args.uploads_per_hour, bytes_per_hour=10 * size)


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
    serve.add_argument("--host", default="127.0.0.1", help="address (0.0.0.0: the whole network)")
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
    serve.add_argument(
        "--upload-mb",
        type=float,
        default=20.0,
        help="largest file a student may upload for an edit, in MB (default %(default)g)",
    )
    serve.add_argument(
        "--uploads-per-hour",
        type=int,
        default=60,
        help="uploads each student may make in an hour (default %(default)s)",
    )
    serve.add_argument(
        "--trust-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="a reverse proxy whose X-Forwarded-For is believed (repeatable; default: none)",
    )
    check = command("check", "check the database, the image store and the port, then exit")
    check.add_argument("--host", default="127.0.0.1", help="address to check")
    check.add_argument("--port", type=int, default=8800, help="port to check (0: skip)")
    from klein_widget.gateway._hub_cli import add_hub_arguments

    add_hub_arguments(serve, commands, _dollars)  # serve --hub, jupyterhub-config
    add = command("add-student", "add a student and print their token (shown once)")
    add.add_argument("name")
    add.add_argument("--budget", type=_dollars, default=_dollars("2.00"), help="dollars")
    command("list", "list students, spend and budgets")
    reissue = command(
        "reissue", "print a new token for a student; the old one stops working at once"
    )
    reissue.add_argument("name")
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


def _problems(args: argparse.Namespace) -> tuple[list[str], socket.socket | None]:
    """What stops a gateway from starting (one sentence each), and the bound socket."""
    from klein_widget.gateway._checks import db_problem, store_problem
    from klein_widget.gateway._state import images_folder
    from klein_widget.serving._http import bind

    found = [p for p in (db_problem(args.db), store_problem(images_folder(args.db))) if p]
    sock = None
    if args.port or args.command == "serve":
        try:
            sock = bind(args.host, args.port)
        except OSError as error:
            why = "in use (another gateway?)" if error.errno == errno.EADDRINUSE else error.strerror
            found.append(f"port {args.port} on {args.host} cannot be used: {why}")
    return found, sock


def _check(args: argparse.Namespace) -> int:
    from klein_widget.gateway._conn import connections_for, raise_file_limit

    found, sock = _problems(args)
    if sock is not None:
        sock.close()
    for problem in found:
        print(f"problem: {problem}.", file=sys.stderr)
    files = raise_file_limit()
    print(f"open files: {files} (so at most {connections_for(files)} connections at once)")
    if not found:
        print(f"ok: {args.db}, its image store and the port are ready")
    return 1 if found else 0


def _serve(args: argparse.Namespace) -> int:
    import sqlite3

    from klein_widget.client._config import API_KEY_ENV
    from klein_widget.gateway._app import create_app, server_for
    from klein_widget.gateway._conn import Limits, connections_for, raise_file_limit
    from klein_widget.serving._http import url_for

    key = os.environ.get(API_KEY_ENV) or None
    if args.upstream != "emulator" and key is None:
        print(f"error: set {API_KEY_ENV} to the teacher's WaveSpeed key (or use --upstream "
              "emulator to rehearse)", file=sys.stderr)  # fmt: skip
        return 2
    found, bound = _problems(args)
    if found:
        for problem in found:
            print(f"error: {problem}.", file=sys.stderr)
        if bound is not None:
            bound.close()
        return 2
    assert bound is not None
    files = raise_file_limit()
    limits = Limits(max_connections=connections_for(files))
    if files < 1024:
        most = limits.max_connections
        print(f"note: this process may open only {files} files, so the gateway takes at "
              f"most {most} connections at once (raise it with `ulimit -n`)")  # fmt: skip
    try:
        app = create_app(
            args.db,
            upstream=args.upstream,
            api_key=key,
            max_concurrency=args.concurrency,
            public_gallery=args.public_gallery,
            limits=limits,
            uploads=upload_limits(args),
        )
    except (sqlite3.Error, OSError, ValueError) as error:
        print(f"error: the gateway cannot start: {error}.", file=sys.stderr)
        bound.close()
        return 2
    bound.listen(2048)  # connections made as soon as the URL is printed wait, not fail
    base = url_for(args.host, bound.getsockname()[1])
    gateway = app.state.gateway
    print(f"klein gateway listening on {base} (upstream: {gateway.upstream.label})")
    print(f"teacher dashboard: {base}/dashboard?token={gateway.teacher_token}")
    print("students set (each with their own token from `klein gateway add-student`):")
    print(f"    export WAVESPEED_BASE_URL={base}")
    print("    export WAVESPEED_API_KEY=<their token>", flush=True)
    server = server_for(app, trust_proxy=args.trust_proxy)
    server.run(sockets=[bound])
    return 0


def _roster(db: ClassDB, path: Path) -> int:
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
    from klein_widget.gateway._db import ClassDB
    from klein_widget.gateway._state import export_pack, images_folder
    from klein_widget.store._pack_files import PackError

    db = ClassDB(args.db)
    try:
        hidden = db.hidden_images()  # images the teacher hid on the dashboard stay out
    finally:
        db.close()
    try:
        manifest = export_pack(images_folder(args.db), args.out, hidden=hidden)
    except PackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.out}: {len(manifest['images'])} images (students open it with --pack)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``klein gateway``; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "serve" and args.hub:
        from klein_widget.gateway._hub_cli import serve_hub

        return serve_hub(args)
    if args.command == "jupyterhub-config":
        from klein_widget.gateway._hub_cli import hub_config

        return hub_config(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "check":
        return _check(args)
    if args.command == "export-pack":
        return _export(args)
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
        elif args.command == "reissue":
            print(db.reissue(args.name))
            print(f"(give this new token to {args.name}; the old one no longer works)",
                  file=sys.stderr)  # fmt: skip
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
