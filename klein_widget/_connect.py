"""The session's doors: ``connect()``, ``use_emulator()``, ``set_api_key()``, ``resume()``,
``use_pack()``.

Each changes or uses the kernel's shared `Session` (`klein_widget._session`), so every
panel, ``%klein`` and lesson sees the change.
"""

from __future__ import annotations

import getpass
import os
from os import PathLike
from typing import TYPE_CHECKING

from klein_widget._hub_connect import use_hub_gateway
from klein_widget._session import session
from klein_widget.client import _config
from klein_widget.client._sync_client import KleinClient
from klein_widget.store._attached import attach_pack
from klein_widget.store._pack import LessonPack
from klein_widget.store._place import GalleryOption, resolve_gallery
from klein_widget.store._resume import ResumeReport, gallery_of, resume_tasks

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's own from Python 3.11

    from klein_widget.emulator import RunningEmulator
    from klein_widget.emulator._settings import StartKnobs

__all__ = [
    "EMULATOR_TIME_ENV",
    "connect",
    "resume",
    "set_api_key",
    "use_emulator",
    "use_pack",
]

EMULATOR_TIME_ENV = "KLEIN_EMULATOR_INFERENCE_TIME"
"""Seconds per image of an emulator started by `use_emulator`/`connect` when no
``inference_time`` is given (default: the emulator's own, 0.6 s); e.g. ``0.05`` for tests."""


def set_api_key(api_key: str | None = None) -> None:
    """Set the WaveSpeed key for this kernel; with no argument, prompt for it without echo.

    The key goes to ``$WAVESPEED_API_KEY`` of this process (so snippets that read the
    environment work) and nowhere else.

    Example:
        >>> klein_widget.set_api_key()  # doctest: +SKIP
        WaveSpeed API key: ········
    """
    key = api_key if api_key is not None else getpass.getpass("WaveSpeed API key: ")
    key = key.strip()
    if not key:
        raise ValueError("The key is empty: paste the key from your WaveSpeed dashboard.")
    _config.resolve_api_key(key)  # refuses a key with a line break or such, without showing it
    os.environ[_config.API_KEY_ENV] = key
    # A real key means the real API: never send it on to a local emulator.
    session().leave_emulator()
    session().configure(api_key=key)
    print(f"Key set for this kernel; images now come from {session().base_url}.")


def use_emulator(*, quiet: bool = False, **knobs: Unpack[StartKnobs]) -> RunningEmulator:
    """Start the local WaveSpeed emulator in the background and point the session at it.

    ``knobs`` (``klein_widget.emulator.StartKnobs``, so type checkers and IDEs list them)
    go to `klein_widget.emulator.start`: `create_app`'s (``inference_time``,
    ``concurrency``, ``rate_limit``, ``api_key``, ``sync_timeout``, ``queue_time``,
    ``packs``: lesson packs whose images it serves to every client, ...) and
    the fault rates of `Faults` by name (``fail_rate``, ``drop_rate``, ``nsfw_rate``, ...).
    A bad knob raises before the running emulator is touched. The environment variables
    are set too, so code snippets run against it unchanged. ``$KLEIN_EMULATOR_INFERENCE_TIME``
    (seconds) sets ``inference_time`` when it is not given.

    Example:
        >>> klein_widget.use_emulator()  # doctest: +SKIP
        Using the local emulator at http://127.0.0.1:40123 (no key needed, images are drawn).
    """
    from klein_widget.emulator import start

    shared = session()
    old = shared.emulator
    if old is not None and not knobs and shared.emulator_is_plain:
        running = old  # no knobs asks for a default emulator: only a default one is reused
    else:
        # first: a bad knob leaves the old one running
        running = start(port=0, **_with_configured_time(knobs))
        if old is not None:
            old.stop()
        shared.emulator, shared.emulator_is_plain = running, not knobs
    os.environ[_config.BASE_URL_ENV] = running.base_url
    os.environ.setdefault(_config.API_KEY_ENV, "emulator")
    shared.configure(base_url=running.base_url, api_key=os.environ[_config.API_KEY_ENV])
    if not quiet:
        print(
            f"Using the local emulator at {running.base_url}: no key or network needed, and "
            "its images are drawn locally (marked 'klein emulator'), not made by FLUX.2."
        )
    return running


def _with_configured_time(knobs: StartKnobs) -> StartKnobs:
    """``knobs`` with ``inference_time`` from `EMULATOR_TIME_ENV` when it is set and not given."""
    value = os.environ.get(EMULATOR_TIME_ENV, "").strip()
    if not value or "inference_time" in knobs:
        return knobs
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(
            f"${EMULATOR_TIME_ENV} must be a number of seconds, e.g. 0.05, not {value!r}"
        ) from None
    return {**knobs, "inference_time": seconds}


def connect(*, quiet: bool = False) -> str:
    """Use the real API if ``$WAVESPEED_API_KEY`` is set (in a JupyterHub server with a class
    gateway: that gateway, with the server's Hub token), else start the local emulator.

    Returns the base URL in use. Notebooks call this first so they run anywhere.

    Example:
        >>> klein_widget.connect()  # doctest: +SKIP
        'https://api.wavespeed.ai'
    """
    hub = use_hub_gateway(quiet=quiet)  # in a JupyterHub server: the class's gateway
    if hub is not None:
        return hub
    if os.environ.get(_config.API_KEY_ENV) and not session().using_emulator:
        if not quiet:
            print(f"Using WaveSpeed at {session().base_url} with the key from $WAVESPEED_API_KEY.")
        return session().base_url
    return use_emulator(quiet=quiet).base_url


def resume(
    client: KleinClient | None = None,
    *,
    gallery: GalleryOption = None,
    timeout: float | None = 120.0,
) -> ResumeReport:
    """Download every accepted task whose image never arrived, into the gallery.

    Uses the session's client unless ``client`` is given; reads the client's gallery
    unless ``gallery`` is given. Nothing is submitted: only results are fetched.

    Example:
        >>> klein_widget.connect()  # doctest: +SKIP
        >>> klein_widget.resume()  # doctest: +SKIP
        ResumeReport(3 fetched)
    """
    client = client if client is not None else session().client()
    store = resolve_gallery(gallery) if gallery is not None else gallery_of(client)
    return resume_tasks(client, store, timeout=timeout)


def use_pack(pack: str | PathLike[str] | LessonPack, *, quiet: bool = False) -> LessonPack:
    """Attach a lesson pack: requests it holds come from it, free, with no key or network.

    The pack (a ``.zip`` or folder made by `klein_widget.store.make_pack` or ``klein pack
    make``) is checked in full first; a bad one raises `klein_widget.store.PackError`
    saying what is wrong. It is consulted after the gallery's own images, by every client,
    panel and ``%klein`` of this process (``$KLEIN_PACKS`` attaches packs the same way).
    Requests it does not hold go to WaveSpeed or the emulator as before.

    Example:
        >>> klein_widget.use_pack("lesson-02.zip")  # doctest: +SKIP
        Using the lesson pack lesson-02.zip: its 24 images come from it, free.
    """
    attached = attach_pack(pack)
    if not quiet:
        print(
            f"Using the lesson pack {attached.name}: its {len(attached)} images come from it, "
            "free (same prompt, size and seed); anything else is made as usual."
        )
    return attached
