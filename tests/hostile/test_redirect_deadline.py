"""A call's overall deadline covers a whole redirect chain, not only its last answer.

Each hop of the chain waits ``HOP_DELAY`` before answering its redirect: shorter than the
call's ``timeout``, so no single hop's read timeout fires, but ``HOPS`` of them add up to
several times the timeout. The call must still end within the bound the package documents
(`harness.time_bound`): a deadline that starts only when the chain's last answer arrives,
or hops whose timeouts are all set at the start of the chain, overrun it by seconds.
"""

from __future__ import annotations

# The async pool's libraries, imported before the first call: their import (0.3-1 s on a
# busy machine) would otherwise count in the first async call's time bound.
import time

import httpx_aiohttp  # noqa: F401
import pytest

from klein_widget import GenerationTimeoutError
from tests.hostile import answers as A
from tests.hostile.harness import Servers, check_invariants, generate_on_clock, run_target
from tests.hostile.server import Answer

BOTH = ("sync", "async")
TIMEOUT = 0.8
HOP_DELAY = 0.5  # under TIMEOUT: only the chain as a whole is too slow
HOPS = 8  # 4 s of hops: past TIMEOUT + GRACE + SLACK (2.3 s), under httpx's 20 redirects


def slow_hops(location: str) -> Answer:
    return Answer(302, headers=(("Location", location),), delay=HOP_DELAY, repeat=HOPS)


@pytest.mark.parametrize("target", BOTH)
def test_a_poll_whose_redirects_are_each_slow_ends_at_the_deadline(
    target: str, servers: Servers
) -> None:
    outcome = run_target(
        target, servers, A.only("result", slow_hops("%BASE%" + A.RESULT)), timeout=TIMEOUT
    )
    check_invariants(outcome, servers)
    assert outcome.raised is not None, outcome.describe()
    assert servers.api.count("result") < HOPS, "the chain ran to its end: nothing stopped it"


@pytest.mark.parametrize("target", BOTH)
def test_a_download_whose_redirects_are_each_slow_ends_at_the_deadline(
    target: str, servers: Servers
) -> None:
    hops = slow_hops("%IMG%/img/%ID%.png")
    outcome = run_target(target, servers, A.only("image", hops), timeout=TIMEOUT)
    check_invariants(outcome, servers)
    assert outcome.raised is not None, outcome.describe()
    assert servers.img.count("image") < HOPS, "the chain ran to its end: nothing stopped it"


@pytest.mark.parametrize("target", BOTH)
def test_no_redirect_hop_is_sent_after_the_deadline(target: str, servers: Servers) -> None:
    """A poll redirected back to itself at once, with the client's clock (its ``clock=``
    option) jumping a minute ahead when the first poll reaches the server: the deadline has
    passed when the redirect comes back, so no second hop goes out. Each hop's 1 ms timeout
    cannot stop it: a loopback answer comes within it (on a busy machine twenty such hops
    took a second past a call's deadline)."""
    servers.script({"result": [Answer(302, headers=(("Location", "%BASE%" + A.RESULT),),
                                      repeat=20)]})  # fmt: skip

    def clock() -> float:
        return time.monotonic() + (60.0 if servers.api.count("result") else 0.0)

    with pytest.raises(GenerationTimeoutError):
        generate_on_clock(target, servers, clock)
    assert servers.api.count("result") == 1, "a redirect was followed after the deadline"
