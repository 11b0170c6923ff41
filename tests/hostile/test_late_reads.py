"""An answer that has all arrived is kept, however late the client reads it.

On a starved machine the server's whole answer to a submit can be in the client's socket
before the deadline and read only after it. The task is accepted and billed: throwing the
answer away as "still arriving at the deadline" would leave the caller an error with no task
id (seen under load: a batch's paid task lost its id). The client's ``clock=`` option stands
in for the starved process here: it jumps a minute ahead once the submit reaches the server.
"""

from __future__ import annotations

# The async pool's libraries, imported before the first call (see test_redirect_deadline).
import time

import httpx_aiohttp  # noqa: F401
import pytest

from klein_widget import KleinError
from tests.hostile.harness import Servers, generate_on_clock


@pytest.mark.parametrize("target", ["sync", "async"])
def test_a_submit_answer_read_after_the_deadline_keeps_its_task_id(
    target: str, servers: Servers
) -> None:
    def clock() -> float:
        return time.monotonic() + (60.0 if servers.api.count("submit") else 0.0)

    with pytest.raises(KleinError) as raised:  # past the deadline: the poll is not waited for
        generate_on_clock(target, servers, clock)
    (accepted,) = servers.api.accepted_ids()
    assert raised.value.task_id == accepted, raised.value
    assert raised.value.maybe_accepted is True
