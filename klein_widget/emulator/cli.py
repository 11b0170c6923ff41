"""``klein emulator`` (or ``python -m klein_widget emulator``): serve the emulator until Ctrl-C.

Example:
    $ klein emulator --port 8765 --concurrency 2 --fail-rate 0.1 --network-delay 0.05
    $ klein emulator --pack lesson-02.zip    # the pack's requests get its real images
    klein emulator listening on http://127.0.0.1:8765 (no key needed; images are drawn here).
    ...
        export WAVESPEED_BASE_URL=http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from klein_widget.emulator._app import create_app
from klein_widget.emulator._faults import Faults
from klein_widget.emulator._server import make_server
from klein_widget.emulator._settings import TIERS, Settings, StartKnobs, gather_faults
from klein_widget.serving._http import bind, url_for
from klein_widget.store._pack import PackError, open_pack

__all__ = ["KNOB_FLAGS", "build_parser", "main", "settings_from"]

KNOB_FLAGS = frozenset(StartKnobs.__annotations__) - {
    "packs",  # --pack, opened here first so a bad one is named before the server starts
    "simulated",  # a stand-in for a real service is for tests, not for the command line
    "faults",  # its rates are flags of their own (--fail-rate, ...)
    "queue_time",  # the rest: in-process and `start` only (tests and benchmarks)
    "rate_window",
    "max_body_bytes",
}
"""The knobs that are flags (``inference_time`` is ``--inference-time``); defaults and
checks are `Settings`' and `Faults`', not written again here."""


_RATE_FLAGS = {
    "fail_rate": "share of tasks that end 'failed'",
    "result_error_rate": "share of result GETs answered with --result-error-status",
    "drop_rate": "share of result GETs whose connection is dropped",
    "sync_timeout_rate": "share of sync-mode submissions that time out",
    "nsfw_rate": "share of images flagged has_nsfw_contents",
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one flag per emulator knob)."""
    p = argparse.ArgumentParser(
        prog="klein emulator",
        description="A local WaveSpeed-compatible server for FLUX.2 [klein] 4B: no key, no "
        "network, placeholder images. Point clients at the printed URL (base_url or "
        "WAVESPEED_BASE_URL).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument(
        "--port", type=int, default=8765, help="port; 0 picks a free one (default %(default)s)"
    )
    p.add_argument(
        "--inference-time",
        type=float,
        default=Settings.inference_time,
        metavar="S",
        help="seconds each image spends processing (default %(default)s)",
    )
    p.add_argument(
        "--api-key", default=None, help="accept only this key (default: any non-empty key)"
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="tasks processed at once; the rest queue in 'created' (default: no limit)",
    )
    p.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="image submissions per minute before 429 (default: no limit)",
    )
    p.add_argument(
        "--sync-timeout",
        type=float,
        default=None,
        metavar="S",
        help="longest a sync-mode POST waits before timing out (default: no limit)",
    )
    p.add_argument(
        "--tier",
        choices=tuple(TIERS),
        default=None,
        help="a WaveSpeed account tier's rate limit and concurrency ("
        + "; ".join(f"{n}: {t.rate_limit}/min, {t.concurrency} at once" for n, t in TIERS.items())
        + "); --rate-limit and --concurrency override it",
    )
    p.add_argument(
        "--network-delay",
        type=float,
        default=Settings.network_delay,
        metavar="S",
        help="seconds of network round trip added to every request, half each way "
        "(e.g. 0.05-0.15 for the internet; default 0)",
    )
    p.add_argument(
        "--connection-round-trips",
        type=int,
        choices=(0, 1, 2, 3),
        default=Settings.connection_round_trips,
        metavar="N",
        help="extra round trips a new connection's first request pays (1 TCP, 2 TCP + "
        "TLS 1.3; default 0)",
    )
    p.add_argument(
        "--pack",
        action="append",
        default=[],
        metavar="PACK",
        help="a lesson pack (.zip or folder, from `klein pack make`); requests it holds get "
        "its real images, the rest drawn ones. Repeat for more packs",
    )
    p.add_argument(
        "--seed", type=int, default=Settings.seed, help="seed of the fault dice (default 0)"
    )
    for name, meaning in _RATE_FLAGS.items():  # the fault dice, each a share of 0-1
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, type=float, default=getattr(Faults, name), metavar="P", help=meaning)
    p.add_argument(
        "--result-error-status",
        type=int,
        default=Faults.result_error_status,
        metavar="CODE",
        help="status of injected result errors (default 503)",
    )
    p.add_argument(
        "--sync-timeout-style",
        choices=("gateway", "body"),
        default=Faults.sync_timeout_style,
        help="a 504 HTML page (gateway) or a JSON 'processing' body with code 5004",
    )
    p.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn's log level (default %(default)s)",
    )
    p.add_argument("--access-log", action="store_true", help="log every request")
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    """The emulator's `Settings` from parsed flags (`ValueError` naming a bad one).

    Example:
        >>> settings_from(build_parser().parse_args(["--fail-rate", "0.5"])).faults.fail_rate
        0.5
    """
    knobs = {name: value for name, value in vars(args).items() if name in KNOB_FLAGS}
    return Settings.of(None, gather_faults(knobs))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground until Ctrl-C; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = settings_from(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        packs = [open_pack(path, verify=True) for path in args.pack]
    except PackError as exc:
        parser.exit(2, f"klein emulator: {exc}\n")
    app = create_app(settings, packs=packs)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        parser.exit(1, f"klein emulator: cannot listen on {args.host}:{args.port}: {exc}\n")
    server = make_server(
        app, log_level=args.log_level, access_log=args.access_log, configure_logging=True
    )
    base_url = url_for(args.host, sock.getsockname()[1])
    print(
        f"klein emulator listening on {base_url} (no key needed; images are drawn here).\n"
        "In another terminal, point the client, the CLI or a notebook at it:\n\n"
        f"    export WAVESPEED_BASE_URL={base_url}\n\n"
        "Stop it with Ctrl-C.",
        flush=True,
    )
    for pack in packs:
        print(f"Serving the {len(pack)} real images of the lesson pack {pack.path}.", flush=True)
    try:
        # uvicorn handles Ctrl-C itself (graceful shutdown), then re-raises the signal.
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print("klein emulator stopped", flush=True)
    return 0
