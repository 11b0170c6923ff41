"""The classroom gateway: one teacher's WaveSpeed key, per-student tokens and budgets, a
shared store of images, a fair queue, and a dashboard.

Students point ``WAVESPEED_BASE_URL`` at the gateway and set ``WAVESPEED_API_KEY`` to their
personal token; everything (the panel, ``%klein``, the client, the official ``wavespeed``
SDK, curl) works unchanged, because the gateway speaks WaveSpeed's own v3 API. The
teacher's key stays in the gateway's environment and is sent only upstream.

- `_db`: the class database (SQLite, WAL): students, the ledger and queue, settings.
- `_tokens`: tokens (stored as hashes) and the limiter of wrong guesses.
- `_upstream`: the `AsyncKleinClient` the gateway forwards through (its money rules).
- `_dispatch`: the round-robin queue under the upstream's learned limits; the journal.
- `_api`: the students' routes; `_dashboard`: the teacher's page; `_app`: `create_app`,
  served by uvicorn (`start`, `server_for`).
- `_state`: `Gateway`, what one app holds; `cli`: ``klein gateway``.

Imports the client, the store and the emulator; nothing imports it but the CLI (tested).

Example:
    >>> from klein_widget.gateway import start
    >>> with start(tmp / "class.sqlite3", upstream="emulator") as running:  # doctest: +SKIP
    ...     token = running.gateway.db.add_student("ada", budget_mills=2000)
"""

try:  # the server needs the [gateway] extra; say so instead of "no module starlette"
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ModuleNotFoundError as missing:
    raise ModuleNotFoundError(
        f"The classroom gateway needs {missing.name}, from the [gateway] extra: "
        'pip install "klein-widget[gateway]".',
        name=missing.name,
    ) from missing

from klein_widget.gateway._app import RunningGateway, create_app, start
from klein_widget.gateway._db import ClassDB
from klein_widget.gateway._rows import GatewayTask, Student
from klein_widget.gateway._state import Gateway

__all__ = [
    "ClassDB",
    "Gateway",
    "GatewayTask",
    "RunningGateway",
    "Student",
    "create_app",
    "start",
]
