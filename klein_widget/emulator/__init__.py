"""A local WaveSpeed-compatible server for the FLUX.2 [klein] family: no key, no network.

It speaks the same v3 API as WaveSpeed (same routes, envelope, statuses, sync and base64
modes, validation, 401/404/429), so the official ``wavespeed`` SDK and klein-widget's own
clients work against it unchanged, and it can misbehave on purpose (queueing, rate limits,
5xx, dropped connections, failed tasks, sync timeouts, NSFW flags) to test clients.
Images are pleasant placeholders, stamped "klein emulator", deterministic in
(prompt, seed, size); an edit's is its first reference recoloured by the prompt, stamped
"klein emulator · edit". Every model of the family is served at its own path, billed at
its price (simulated), with WaveSpeed's upload protocol (``POST /api/v3/media/uploads``)
and price endpoint (``POST /api/v3/model/price``).

Three ways to run it:

* ``python -m klein_widget emulator --port 8765`` (see `cli`), then point a client at
  the printed URL through ``base_url`` or ``WAVESPEED_BASE_URL``;
* ``start(port=0, ...)``: a `RunningEmulator` in a background thread (scripts, notebooks,
  tests over loopback);
* ``create_app(...)``: the Starlette app, for ``httpx.ASGITransport`` or ``TestClient``.

Knobs (the fields of `Settings`, declared once there: ``create_app`` / ``start``
keyword arguments, typed for checkers and IDEs as `Knobs` / `StartKnobs`, CLI flags,
and attributes of the live `Emulator` at ``app.state.emulator``): ``inference_time``
(0.6 s), ``api_key``, ``concurrency``, ``rate_limit`` (per ``rate_window``, 60 s), ``sync_timeout``,
``queue_time``, ``max_body_bytes``, ``faults`` (a `Faults`), ``seed``, ``network_delay``
(seconds of round trip, half each way) and ``connection_round_trips`` (see `_http`),
and ``tier`` (a WaveSpeed account tier's rate limit and concurrency). Tests script exact
faults with ``emulator.script(channel, *actions)`` and read ``emulator.requests``,
``emulator.count(method, path)`` and ``emulator.accepted``; the channels and actions are
listed in `klein_widget.emulator._faults`. A dropped connection closes the socket with
no answer over a server (`start`, the CLI); in-process, where there is no socket, the
request raises ``httpx.RemoteProtocolError`` (or ``httpx.ReadError`` for a reset), as
httpx would over loopback.

Example:
    >>> from klein_widget.emulator import start
    >>> with start(inference_time=0.02) as running:
    ...     running.emulator.script("result", 503)   # the next result GET answers 503
    ...     running.base_url.startswith("http://")
    True
"""

try:  # the server needs the [emulator] extra; say so instead of "no module starlette"
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ModuleNotFoundError as missing:
    raise ModuleNotFoundError(
        f"The local emulator needs {missing.name}, from the [emulator] extra: "
        'pip install "klein-widget[emulator]" (or set WAVESPEED_API_KEY to use WaveSpeed).',
        name=missing.name,
    ) from missing

from klein_widget.emulator._app import create_app
from klein_widget.emulator._faults import Faults
from klein_widget.emulator._server import RunningEmulator, start
from klein_widget.emulator._settings import FaultRates, Knobs, LiveKnobs, Settings, StartKnobs
from klein_widget.emulator._state import Emulator

__all__ = [
    "Emulator",
    "FaultRates",
    "Faults",
    "Knobs",
    "LiveKnobs",
    "RunningEmulator",
    "Settings",
    "StartKnobs",
    "create_app",
    "start",
]
