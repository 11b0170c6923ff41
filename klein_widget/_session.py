"""The notebook session: one configuration, one ledger and one history, shared by the panel,
``%klein`` and the lesson helpers, so they show the same spend and the same images.

The session hands out a blocking client (for ``%klein`` and scripts) and an async client
(for the panel, which runs on the kernel's event loop); both share one ledger and journal
(the session's gallery) and tell the session each image they make (``on_image``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

import httpx

from klein_widget.client import _config
from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._exceptions import KleinError
from klein_widget.client._generation import Generation
from klein_widget.client._journal import Journal
from klein_widget.client._ledger import Ledger, Spend
from klein_widget.client._policy import PollSchedule, RetryPolicy
from klein_widget.client._sync_client import KleinClient
from klein_widget.client.batch._pacing import Pacer, RateLimit
from klein_widget.store._attached import PacksOnly
from klein_widget.store._gallery import Gallery
from klein_widget.store._place import GalleryOption, RunsIn, resolve_gallery

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

    from klein_widget.emulator import RunningEmulator

HISTORY_LIMIT = 64  # images kept in memory; the gallery on disk keeps all of them
HISTORY_BYTES = 24 << 20  # and at most this much of them: a 1024x1024 PNG is ~1.5 MB

Listener = Callable[[Generation], None]


class ClientOptions(TypedDict, total=False):
    """What `Session.configure` hands both shared clients: their keyword arguments of the
    same names and types (`KleinClient`; a test checks none is missing)."""

    timeout: float
    max_spend: float | None
    poll: PollSchedule | None
    retry: RetryPolicy | None
    clock: Callable[[], float]
    rng: random.Random | None
    inline_images: bool
    rate_limit: int | RateLimit | Pacer | None
    download_grace: float


class SharedOptions(ClientOptions, total=False):
    """`ClientOptions` with what the session gives both clients itself."""

    ledger: Ledger
    journal: Journal
    on_image: Callable[[Generation], None]


class Session:
    """Shared state for everything interactive in one kernel.

    Example:
        >>> session = klein_widget.session()  # doctest: +SKIP
        >>> session.client().generate("a red fox")  # doctest: +SKIP
        >>> session.spend  # doctest: +SKIP
        Spend(images=1, enhancements=0, mills=8)
    """

    def __init__(self, *, runs_in: RunsIn | None = None) -> None:
        """``runs_in``: ``"notebook"`` or ``"script"``, which decides the default gallery
        folder (`klein_widget.store._place`); None: where this process runs."""
        self._lock = threading.Lock()
        self.ledger = Ledger()
        # The on-disk store ($KLEIN_GALLERY, else the default folder; None when off).
        self.gallery: Gallery | None = resolve_gallery(runs_in=runs_in)
        self.history: deque[Generation] = deque(maxlen=HISTORY_LIMIT)
        self._listeners: list[Listener] = []
        self._watchers: list[Callable[[], None]] = []  # told when the configuration changes
        self._api_key: str | None = None
        self._base_url: str | None = None
        self._sync: KleinClient | None = None
        self._async: AsyncKleinClient | None = None
        self.emulator: RunningEmulator | None = None
        self.emulator_is_plain = False  # started by `use_emulator` without knobs: reusable
        self.client_options: ClientOptions = {}
        self._http: httpx.Client | None = None  # a pool given to `configure`, per client kind
        self._async_http: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        where = self.gallery.path if self.gallery is not None else None
        return f"Session(base_url={self.base_url!r}, gallery={str(where) if where else None!r})"

    # --- configuration -------------------------------------------------------------------

    def configure(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        gallery: GalleryOption | None = None,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        **client_options: Unpack[ClientOptions],
    ) -> None:
        """Change where and how the shared clients connect; they are rebuilt on next use.

        What is not given stays as it was. ``gallery``: a folder, a `Gallery`, or False
        (or ``"off"``) for none; the session, not each client, owns it. ``http_client``: a
        pool for the shared client of its kind (an ``httpx.Client`` for the blocking one,
        an ``httpx.AsyncClient`` for the async one), e.g. on an in-process emulator.
        ``client_options`` (`ClientOptions`): the clients' own keyword arguments.

        Example:
            >>> klein_widget.session().configure(timeout=60, gallery="class")  # doctest: +SKIP
        """
        with self._lock:
            if api_key is not None:
                self._api_key = api_key
            if base_url is not None:
                self._base_url = base_url
            if gallery is not None:
                self.gallery = resolve_gallery(gallery)
            if isinstance(http_client, httpx.AsyncClient):
                self._async_http = http_client
            elif http_client is not None:
                self._http = http_client
            self.client_options.update(client_options)
            self._drop_clients()
        self._changed()

    def _drop_clients(self) -> None:
        """Forget the shared clients (rebuilt on next use), closing their pools."""
        old_sync, old_async, self._sync, self._async = self._sync, self._async, None, None
        if old_sync is not None:
            old_sync.close()
        if old_async is not None:
            # An async pool can only be closed on a running loop (the kernel's).
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(old_async.aclose())

    @property
    def base_url(self) -> str:
        """Where the shared clients send requests."""
        return _config.resolve_base_url(self._base_url)

    @property
    def has_api_key(self) -> bool:
        """True if a key is configured here or in ``$WAVESPEED_API_KEY``."""
        try:
            return _config.resolve_api_key(self._api_key) is not None
        except KleinError:  # set but unusable: the client says why when it is used
            return True

    @property
    def key_missing(self) -> bool:
        """True if the shared clients cannot send: no key, and the server needs one."""
        return not self.has_api_key and _config.needs_key(self.base_url)

    @property
    def using_emulator(self) -> bool:
        """True if the session talks to a local emulator started by `use_emulator`."""
        return self.emulator is not None and self.base_url == self.emulator.base_url

    def _shared_options(self) -> SharedOptions:
        # What both shared clients get: one ledger, the session's gallery as journal (with it
        # off, the attached packs still answer), this session told of each image, the options.
        journal = self.gallery if self.gallery is not None else PacksOnly()
        shared: SharedOptions = {"ledger": self.ledger, "journal": journal}
        return {**self.client_options, **shared, "on_image": self._image_made}

    def client(self) -> KleinClient:
        """The shared blocking client."""
        with self._lock:
            if self._sync is None:
                shared = self._shared_options()
                self._sync = KleinClient(
                    self._api_key, self._base_url, **shared, http_client=self._http
                )
                self._tell_what_the_server_is(self._sync)
            return self._sync

    def async_client(self) -> AsyncKleinClient:
        """The shared async client (use it from tasks on the kernel's loop)."""
        with self._lock:
            if self._async is None:
                shared = self._shared_options()
                self._async = AsyncKleinClient(
                    self._api_key, self._base_url, **shared, http_client=self._async_http
                )
                self._tell_what_the_server_is(self._async)
            return self._async

    def _tell_what_the_server_is(self, client: KleinClient | AsyncKleinClient) -> None:
        # An emulator this session started is known to be one before it has answered, so
        # its stand-ins answer fixed-seed re-runs from the first call (a server not yet
        # heard from gets only real images: `ProvenanceRules.stand_ins_answer`).
        if self.using_emulator and self.emulator is not None:
            client.heard_from_server(bool(self.emulator.app.state.simulated))

    def leave_emulator(self) -> None:
        """Stop the local emulator, if one runs, and go back to the configured API."""
        running, self.emulator, self.emulator_is_plain = self.emulator, None, False
        if running is None:
            return
        if os.environ.get(_config.BASE_URL_ENV) == running.base_url:
            del os.environ[_config.BASE_URL_ENV]
        with self._lock:
            if self._base_url == running.base_url:
                self._base_url = None
            self._drop_clients()
        running.stop()
        self._changed()

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after each change of key, endpoint or options (open panels
        redraw their connection line); returns a function that stops watching."""
        self._watchers.append(callback)
        return lambda: self._watchers.remove(callback) if callback in self._watchers else None

    def _changed(self) -> None:
        for callback in list(self._watchers):
            callback()

    # --- history and spend -------------------------------------------------------------------

    @property
    def spend(self) -> Spend:
        """Images and dollars spent this session, by every shared client."""
        return self.ledger.spend

    def _image_made(self, generation: Generation) -> None:
        """Each image a shared client makes (journaled): into the history, to listeners."""
        self.history.append(generation)
        held = sum(len(g.image) for g in self.history)
        while len(self.history) > 1 and held > HISTORY_BYTES:  # the newest always stays
            held -= len(self.history.popleft().image)
        for listener in list(self._listeners):
            listener(generation)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with each new image; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None


_SESSION: Session | None = None  # made on first use, not at import
_SESSION_LOCK = threading.Lock()


def session() -> Session:
    """The kernel's shared session (made on first use)."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = Session()
        return _SESSION
