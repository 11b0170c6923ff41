"""Every number the client's time, memory and money rules depend on, in one place.

The promises they keep: a public call ends within its ``timeout`` (plus `DOWNLOAD_GRACE`
when an image is already paid for and only its download is left); no answer is read past
its cap, so memory stays bounded whatever a server sends.
"""

from __future__ import annotations

import httpx

DEFAULT_TIMEOUT = 300.0  # seconds to wait for one image before giving up (the task goes on)
DOWNLOAD_GRACE = 30.0  # a paid image still gets this long to download after the timeout
CONNECT_TIMEOUT = 10.0  # seconds to open a connection
READ_TIMEOUT = 60.0  # seconds one request may wait for bytes (less near the deadline)

MAX_JSON_BYTES = 64 << 20  # an API answer; base64 outputs inline make it large, never this
MAX_IMAGE_BYTES = 48 << 20  # one image file; a 1536x1536 PNG is under 8 MB
# The image inline (base64 in the poll's answer) or as a URL: bench/ section 7b measured,
# at no round trip, inline within 6 ms of a download up to 512x512, and 20-60 ms dearer
# per megapixel above it (2.4-3.5x the client CPU: CPython decodes base64 at ~3 ms/MB),
# which only a round trip of about as long repays.
INLINE_ALWAYS_PIXELS = 512 * 512
INLINE_COST_PER_PIXEL = 0.05 / 1_000_000  # seconds
MAX_IMAGE_PIXELS = 4096 * 4096  # larger is refused as a decompression bomb (the model: 1536²)

# As many idle connections kept as may be busy (16 for 32 made 904 new connections for
# 600 images in the bench), and kept 20 s rather than httpx's 5, so a notebook user who
# clicks Generate every few seconds does not pay the TCP and TLS handshakes each time.
POOL_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=32, keepalive_expiry=20)
# Images one notebook door (the panel, ``%klein -n``, `compare`) has in flight at once:
# enough to overlap the waiting, gentle on rate limits (WaveSpeed's lowest tier runs 2 and
# queues the rest).
MAX_IN_FLIGHT = 4
RATE_WINDOW = 60.0  # seconds: WaveSpeed's rate limits count images per minute
REMEMBERED_TASKS = 4096  # task ids a client remembers the request of, for fetch()
