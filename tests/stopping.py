"""Stop a fixture's loopback server without making the next test wait for it.

`ServedInThread.stop` waits for uvicorn to notice the request (its main loop looks every
0.1 s), then another 0.1 s for open connections, then the app's shutdown: ~0.2 s of wall
time per server with nearly no CPU. A fixture that starts a fresh emulator or gateway per
test paid that in every teardown, one server after another (a gateway and its upstream:
0.4 s). `stop_later` asks the server to stop in a background thread and returns at once;
each test still gets its own fresh server (new port, new state, new database), and the
next test runs while the old one winds down. Every such stop is joined at the end of the
session (`join_stopped`, called from tests/conftest.py), so none outlives the run.

Only fixtures use it: a test that stops a server on purpose (a restart, a journal that
must be closed) calls ``stop()`` and waits, as before.

Example:
    >>> from klein_widget.emulator import start
    >>> running = start(port=0)  # doctest: +SKIP
    >>> stop_later(running)  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from klein_widget.serving._http import ServedInThread

__all__ = ["join_stopped", "stop_later", "stopped_later"]

_Served = TypeVar("_Served", bound=ServedInThread)
_STOPPING: list[threading.Thread] = []
_LOCK = threading.Lock()
JOIN_LIMIT = 30.0  # seconds `join_stopped` waits for each server (stop itself gives up at 10 + 5)


def stop_later(running: ServedInThread) -> None:
    """Ask ``running`` to stop in a background thread; `join_stopped` waits for it."""
    stopper = threading.Thread(
        target=running.stop, name=f"stopping {running.base_url}", daemon=True
    )
    stopper.start()
    with _LOCK:
        _STOPPING[:] = [t for t in _STOPPING if t.is_alive()]  # finished ones need no join
        _STOPPING.append(stopper)


@contextmanager
def stopped_later(running: _Served) -> Iterator[_Served]:
    """``with stopped_later(start(...)) as running:``: like ``with start(...)``, but the
    server is stopped with `stop_later` when the block ends."""
    try:
        yield running
    finally:
        stop_later(running)


def join_stopped() -> list[str]:
    """Wait for every server `stop_later` was given; the names of any still running."""
    with _LOCK:
        stoppers, _STOPPING[:] = list(_STOPPING), []
    for stopper in stoppers:
        stopper.join(JOIN_LIMIT)
    return [stopper.name for stopper in stoppers if stopper.is_alive()]
