"""Fixtures for the hostile suite: the two hostile servers.

One pair of servers per test module (starting and stopping them per test cost a tenth of a
second each time): the API server, and a second one on another origin that serves the
images (as WaveSpeed's CDN does) and is where hostile redirects point. `servers` hands the
pair to a test with its scripts, counters and stream limit reset.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile import harness
from tests.hostile.harness import Servers
from tests.hostile.server import HostileServer

# How long a held, trickling or endless answer lasts: longer than any call's timeout plus
# slack, so a client that ignores its deadline is caught, short enough to keep CI fast.
STREAM_SECONDS = 4.0


@pytest.fixture(scope="session", autouse=True)
def gallery_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every example's gallery goes under pytest's temporary folder (cleaned by pytest)."""
    harness.GALLERY_ROOT.append(tmp_path_factory.mktemp("hostile-galleries"))
    yield
    harness.GALLERY_ROOT.pop()


@pytest.fixture(scope="module")
def server_pair() -> Iterator[Servers]:
    """The hostile API server and its other origin, shared by a test module."""
    img = HostileServer(name="img", stream_seconds=STREAM_SECONDS)
    with img, HostileServer(image_origin=img, stream_seconds=STREAM_SECONDS) as api:
        pair = Servers(api, img)
        harness.warm_up(pair)
        yield pair


@pytest.fixture
def servers(server_pair: Servers) -> Iterator[Servers]:
    """The server pair, reset for this test (and aborted after it, ending any stream)."""
    server_pair.reset()
    for server in (server_pair.api, server_pair.img):
        server.stream_seconds = STREAM_SECONDS
    yield server_pair
    server_pair.abort()
