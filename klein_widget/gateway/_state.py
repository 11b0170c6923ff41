"""`Gateway`: everything one classroom gateway holds (database, store, upstream, queue,
teacher token), reachable from a request as ``request.app.state.gateway``.

Example:
    >>> gateway = Gateway.open("class.sqlite3", upstream="emulator")  # doctest: +SKIP
    >>> gateway.images  # doctest: +SKIP
    PosixPath('.../class-images')
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Collection
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from starlette.requests import Request
from starlette.types import ASGIApp

from klein_widget.client._family import KleinModel
from klein_widget.client._metadata import embed_params, strip_params
from klein_widget.client._policy import RetryPolicy
from klein_widget.gateway._checks import StoreWatch
from klein_widget.gateway._conn import Limits
from klein_widget.gateway._db import ClassDB, DBThread
from klein_widget.gateway._dispatch import Dispatcher
from klein_widget.gateway._tokens import FailedLogins, new_token, token_hash
from klein_widget.gateway._uploads import UploadDesk, UploadLimits
from klein_widget.gateway._upstream import Upstream
from klein_widget.store._files import written_images
from klein_widget.store._gallery import Gallery
from klein_widget.store._make_pack import make_pack
from klein_widget.store._pack_files import PackError

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_MAX_BODY_BYTES_GATEWAY",
    "ClassOptions",
    "Gateway",
    "OpenOptions",
    "export_pack",
    "gateway_of",
    "images_folder",
]

DEFAULT_MAX_BODY_BYTES_GATEWAY = 64 << 10  # a prompt is at most a few kB of JSON


def images_folder(db_path: str | PathLike[str]) -> Path:
    """The class's image store next to its database: ``class.sqlite3`` → ``class-images/``.

    Example:
        >>> images_folder("/srv/class.sqlite3").name
        'class-images'
    """
    path = Path(db_path)
    return path.with_name(path.stem + "-images")


def export_pack(
    images: Path, out: str | PathLike[str], *, hidden: Collection[str] = ()
) -> dict[str, Any]:
    """Write the class's images as a lesson pack (the store's one `make_pack`); returns its
    manifest. Images whose upstream task id is in ``hidden`` (the teacher hid them) are left
    out; WaveSpeed's NSFW flag, kept in the store's index, is written into each flagged
    image's parameters so the pack carries it. `PackError` when there is nothing to pack.

    Example:
        >>> export_pack(images_folder("class.sqlite3"), "lesson.zip")  # doctest: +SKIP
    """
    if not images.is_dir():
        raise PackError("the class has no images yet: nothing to pack")
    gallery = Gallery(images, packs=[])
    with tempfile.TemporaryDirectory(prefix="klein-gateway-export-") as scratch:
        chosen = Path(scratch) / "images"  # make_pack reads a gallery's day folders
        chosen.mkdir()
        for n, (path, params) in enumerate(written_images(images)):
            task_id = str(params["task_id"])
            if task_id in hidden:
                continue
            data = path.read_bytes()
            entry = gallery.entry(task_id)
            if entry is not None and entry.nsfw and not params.get("nsfw"):
                data = embed_params(strip_params(data), {**params, "nsfw": True})
            copy = chosen / f"{n:06d}-{path.name}"
            copy.write_bytes(data)
            sidecar = path.with_name(path.name + ".json")  # formats with no room inside
            if sidecar.is_file():
                copy.with_name(copy.name + ".json").write_bytes(sidecar.read_bytes())
        return make_pack(chosen.parent, out)


class ClassOptions(TypedDict, total=False):
    """`Gateway`'s keyword options (each documented there), for typed ``**options``."""

    teacher_token: str | None
    public_gallery: bool
    max_concurrency: int
    max_body_bytes: int
    sync_window: float
    settle_after: float
    max_backoff: float
    limits: Limits | None
    uploads: UploadLimits | None


class OpenOptions(ClassOptions, total=False):
    """`Gateway.open`'s keyword options: where upstream is, with which key, and the rest."""

    upstream: str | ASGIApp
    api_key: str | None
    images: str | PathLike[str] | None
    retry: RetryPolicy | None
    emulator_inference_time: float


class Gateway:
    """The state of one gateway app (see `create_app`).

    ``teacher_token``: the dashboard's (new when None); ``public_gallery``: every student
    may read every task; ``max_concurrency``: most tasks upstream at once;
    ``max_body_bytes``: a request body's cap; ``sync_window``: how long a sync submit
    waits; ``settle_after``/``max_backoff``: `Aftercare`'s; ``limits``: connections and
    bodies (`_conn`); ``uploads``: each student's upload caps (`UploadLimits`).
    """

    def __init__(
        self,
        db: ClassDB,
        gallery: Gallery,
        upstream: Upstream,
        *,
        teacher_token: str | None = None,
        public_gallery: bool = False,
        max_concurrency: int = 8,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES_GATEWAY,
        sync_window: float = 100.0,
        settle_after: float = 10.0,
        max_backoff: float = 60.0,
        limits: Limits | None = None,
        uploads: UploadLimits | None = None,
    ) -> None:
        self.db = db
        self.gallery = gallery
        self.upstream = upstream
        self.run = DBThread()
        """The one thread every database call of a request or the queue runs on."""
        self.store = StoreWatch(gallery.path)
        """Whether the image store can keep images (checked off the loop, every 2 s)."""
        self.dispatcher = Dispatcher(
            db,
            upstream,
            self.run,
            self.store,
            max_concurrency=max_concurrency,
            settle_after=settle_after,
            max_backoff=max_backoff,
        )
        self.teacher_token = teacher_token or new_token()
        """Printed at start; opens /dashboard. Only its hash is kept in the database."""
        db.set_setting("teacher_token_hash", token_hash(self.teacher_token))
        self.public_gallery = public_gallery
        self.max_body_bytes = max_body_bytes
        self.sync_window = sync_window
        self.logins = FailedLogins()
        """The wrong-token limiter (`FailedLogins`)."""
        self.limits = limits or Limits()
        """Timeouts and caps on connections and bodies (`_conn`), applied by `server_for`."""
        self.uploads = UploadDesk(uploads or UploadLimits())
        """Upload tickets asked for through the gateway, per student (`_uploads`)."""

    @classmethod
    def open(
        cls,
        db_path: str | PathLike[str],
        *,
        upstream: str | ASGIApp = "emulator",
        api_key: str | None = None,
        images: str | PathLike[str] | None = None,
        retry: RetryPolicy | None = None,
        emulator_inference_time: float = 0.6,
        **options: Unpack[ClassOptions],
    ) -> Gateway:
        """Open (or create) a class database and its image store, and connect upstream."""
        db = ClassDB(db_path)
        gallery = Gallery(images if images is not None else images_folder(db_path))
        link = Upstream.connect(
            upstream,
            gallery=gallery,
            api_key=api_key,
            retry=retry,
            emulator_inference_time=emulator_inference_time,
        )
        return cls(db, gallery, link, **options)

    def price(self, model: KleinModel) -> tuple[int, bool]:
        """What this class charges for one image of ``model``, in mills, and whether that
        is a known price: WaveSpeed's published one, or the one its price endpoint gave
        the gateway's client (`PriceBook`, learned at the model's first paid image);
        else the family's highest known price, reserved."""
        prices = self.upstream.client.prices
        return prices.mills(model), prices.confirmed(model)

    def ensure_started(self) -> None:
        """Start the queue on the running loop (first request, or the server's startup)."""
        self.dispatcher.start()

    async def aclose(self) -> None:
        """Stop the queue (the journal keeps what is in flight) and close connections."""
        await self.dispatcher.stop()
        await self.upstream.aclose()
        await asyncio.sleep(0)
        await asyncio.to_thread(self.run.close)
        self.db.close()


def gateway_of(request: Request) -> Gateway:
    """The `Gateway` behind a request's app."""
    return cast(Gateway, request.app.state.gateway)
