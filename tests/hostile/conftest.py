"""Fixtures for the hostile suite: the two hostile servers, and hypothesis settings.

`servers` starts the API server and a second one on another origin (it serves the images,
as WaveSpeed's CDN does, and is where hostile redirects point); both stop at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.harness import Servers
from tests.hostile.server import HostileServer

# How long a held, trickling or endless answer lasts: longer than any call's timeout plus
# slack, so a client that ignores its deadline is caught, short enough to keep CI fast.
STREAM_SECONDS = 4.0


@pytest.fixture
def servers() -> Iterator[Servers]:
    """The hostile API server and its other origin, fresh for each test."""
    img = HostileServer(name="img", stream_seconds=STREAM_SECONDS)
    with img, HostileServer(image_origin=img, stream_seconds=STREAM_SECONDS) as api:
        yield Servers(api, img)
