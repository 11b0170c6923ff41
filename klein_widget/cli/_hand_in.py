"""``klein hand-in NOTEBOOK_OR_PACK``: hand a notebook's images (made into a lesson pack
here, as ``klein pack make`` does) or a ready pack to the class gateway, with the student's
own token (``$WAVESPEED_API_KEY``) at ``$WAVESPEED_BASE_URL``. The teacher's dashboard lists
it with a download link.

Example:
    $ klein hand-in lesson-02.ipynb --title "lesson 02"
    handed in "lesson 02": 24 images (3.1 MB)
"""

from __future__ import annotations

import argparse
import os
import tempfile
from os import PathLike
from pathlib import Path
from typing import Any

import httpx

from klein_widget.client._config import API_KEY_ENV, BASE_URL_ENV
from klein_widget.client._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    InvalidRequestError,
)
from klein_widget.client._transport import shared_ssl_context
from klein_widget.store import make_pack, open_pack

__all__ = ["add_hand_in_parser", "hand_in", "hand_in_command"]


def add_hand_in_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hand-in`` to the ``klein`` parser's commands."""
    sub = commands.add_parser(
        "hand-in",
        help="hand in a notebook's images (or a lesson pack) to your class gateway",
        description=f"Hand in a run notebook's images (or a .zip from `klein pack make`) to "
        f"the class gateway at ${BASE_URL_ENV}, with your class token in ${API_KEY_ENV}.",
    )
    sub.add_argument("source", metavar="NOTEBOOK_OR_PACK", help="a .ipynb or a pack's .zip")
    sub.add_argument("--title", default=None, help="what the teacher sees (default: the name)")
    sub.add_argument(
        "--gallery",
        default=None,
        metavar="FOLDER",
        help="where a notebook's images are (default: as `klein pack make`)",
    )


def hand_in(
    source: str | PathLike[str],
    *,
    title: str | None = None,
    gallery: str | PathLike[str] | None = None,
) -> dict[str, Any]:
    """Hand in a notebook's images or a pack; returns what the gateway kept (``id``,
    ``title``, ``images``, ``size``). Errors are the client's (`KleinError`), raised
    before anything is sent when the input is wrong.

    Example:
        >>> hand_in("lesson-02.ipynb")["images"]  # doctest: +SKIP
        24
    """
    base = os.environ.get(BASE_URL_ENV, "").rstrip("/")
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not base or not key:
        raise InvalidRequestError(
            f"Set {BASE_URL_ENV} to your class gateway and {API_KEY_ENV} to your class token "
            "(from your teacher): a hand-in goes to the gateway, never to WaveSpeed."
        )
    src = Path(source).expanduser()
    with tempfile.TemporaryDirectory(prefix="klein-hand-in-") as scratch:
        if src.suffix.lower() == ".zip" and src.is_file():
            pack = src
        else:  # a notebook (or a gallery folder): made into a pack as `klein pack make` does
            pack = Path(scratch) / "hand-in.zip"
            make_pack(src, pack, gallery=gallery)
        open_pack(pack, verify=True)  # a bad pack is refused here, before it is sent
        data = pack.read_bytes()
    try:
        answer = httpx.post(
            f"{base}/api/klein/hand-in",
            params={"title": title or src.stem},
            content=data,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/zip"},
            timeout=120,
            verify=shared_ssl_context(),
        )
    except httpx.HTTPError as error:
        raise APIConnectionError(f"The gateway at {base} could not be reached: {error}") from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    message = str(body.get("message") or answer.reason_phrase)
    if answer.status_code == 401:
        raise AuthenticationError(message, status_code=401)
    if answer.status_code != 200 or not isinstance(body.get("data"), dict):
        raise APIStatusError(
            f"The gateway refused the hand-in: {message}", status_code=answer.status_code
        )
    kept: dict[str, Any] = body["data"]
    return kept


def hand_in_command(args: argparse.Namespace) -> int:
    """``klein hand-in``: prints what was handed in."""
    kept = hand_in(args.source, title=args.title, gallery=args.gallery)
    print(f'handed in "{kept["title"]}": {kept["images"]} images ({kept["size"] / 1e6:.1f} MB)')
    return 0
