"""Looking back: `history()` lists the gallery, `load_params()` reads any saved image's recipe.

Example:
    >>> klein_widget.history("fox", limit=5)  # doctest: +SKIP
    >>> client.generate(**klein_widget.load_params("klein-outputs/2026-11-24/153012-fox-42.png"))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from os import PathLike
from pathlib import Path
from typing import Any, overload

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._generation import Generation
from klein_widget.client._metadata import read_params
from klein_widget.client._models import parse_size
from klein_widget.client._params import call_params, request_from_params
from klein_widget.store._gallery import Gallery, GalleryEntry
from klein_widget.store._place import GalleryOption, resolve_gallery
from klein_widget.ui._images import THUMBNAIL_SIDE, ThumbnailError, thumbnail_uri

__all__ = ["History", "history", "load_params"]

DateLike = date | datetime | str


def _when(value: DateLike, name: str) -> datetime:
    """A moment from a date (local midnight), a datetime (naive = local) or ISO text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidRequestError(
                f"{name} must be a date like '2026-11-24' (or a datetime), not {value!r}",
                field=name,
            ) from None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value.astimezone() if value.tzinfo is None else value


def _size(value: tuple[int, int] | str) -> tuple[int, int]:
    if isinstance(value, str):
        return parse_size(value)
    width, height = value
    return (int(width), int(height))


def _default_gallery() -> Gallery | None:
    from klein_widget._session import session

    shared = session().gallery
    return shared if isinstance(shared, Gallery) else resolve_gallery()


def _thumbnail_html(path: Path | None) -> str:
    """The image's thumbnail as ``<img>``, or a short note if it cannot be shown."""
    if path is None:
        return "<em>file missing</em>"
    try:
        data = path.read_bytes()
    except OSError:
        return "<em>file missing</em>"
    try:
        uri = thumbnail_uri(data, THUMBNAIL_SIDE)
    except ThumbnailError as error:  # one bad file must not break the table
        return f'<em title="{html.escape(str(error), quote=True)}">cannot show the image</em>'
    return f'<img src="{uri}" alt="" style="max-width:{THUMBNAIL_SIDE}px">'


def _local(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "?"


class History(Sequence[GalleryEntry]):
    """Past generations, newest first: a list of `GalleryEntry` that renders as a table.

    Example:
        >>> past = klein_widget.history("fox", limit=3)  # doctest: +SKIP
        >>> past[0].seed, past[0].path  # doctest: +SKIP
        >>> gen = past.load(0)  # a Generation, bytes from disk  # doctest: +SKIP
    """

    def __init__(self, entries: Sequence[GalleryEntry], gallery: Gallery | None) -> None:
        self.entries = list(entries)
        self.gallery = gallery

    @overload
    def __getitem__(self, index: int) -> GalleryEntry: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[GalleryEntry]: ...

    def __getitem__(self, index: int | slice) -> GalleryEntry | Sequence[GalleryEntry]:
        return self.entries[index]

    def __len__(self) -> int:
        return len(self.entries)

    def load(self, index: int) -> Generation:
        """The ``index``-th entry as a `Generation` (image bytes read from disk)."""
        if self.gallery is None:
            raise LookupError("The gallery is off, so there is nothing to load.")
        return self.gallery.load(self.entries[index])

    def __repr__(self) -> str:
        noun = "image" if len(self) == 1 else "images"
        where = "the gallery is off" if self.gallery is None else str(self.gallery.path)
        lines = [f"{len(self)} {noun} ({where}), newest first:"]
        for e in self.entries:
            name = e.path.name if e.path else "(no file)"
            lines.append(
                f"  {_local(e.time)}  seed {e.seed:<10}  {e.size[0]}x{e.size[1]:<5}  "
                f"{e.prompt[:60]!r}  {name}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.gallery is None:
            return (
                "<p>The klein-widget gallery is off ($KLEIN_GALLERY=off or gallery=False): "
                "images are not stored.</p>"
            )
        head = (
            f"<p>{len(self)} image{'s' if len(self) != 1 else ''} in "
            f"<code>{html.escape(str(self.gallery.path))}</code>, newest first</p>"
        )
        if not self.entries:
            return head
        rows = []
        for e in self.entries:
            name = html.escape(e.path.name) if e.path else ""
            rows.append(
                "<tr>"
                f"<td>{_thumbnail_html(e.path)}</td>"
                f'<td style="text-align:left;max-width:32em">{html.escape(e.prompt)}</td>'
                f"<td>{e.seed}</td><td>{e.size[0]}&times;{e.size[1]}</td>"
                f"<td>{html.escape(_local(e.time))}</td>"
                f'<td><code title="{html.escape(e.task_id)}">{name}</code></td>'
                "</tr>"
            )
        return (
            head + '<table class="klein-history"><thead><tr><th></th><th>prompt</th>'
            "<th>seed</th><th>size</th><th>time</th><th>file</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
        )


def history(
    prompt: str | None = None,
    *,
    seed: int | None = None,
    size: tuple[int, int] | str | None = None,
    date: DateLike | None = None,
    since: DateLike | None = None,
    until: DateLike | None = None,
    limit: int | None = 50,
    gallery: GalleryOption = None,
) -> History:
    """Past generations from the gallery on disk, newest first (survives kernel restarts).

    ``prompt`` matches a substring (any case); ``date`` one local day; ``since`` /
    ``until`` a range; ``size`` ``(768, 512)`` or ``"768x512"``. ``gallery`` defaults to
    the session's.

    Example:
        >>> klein_widget.history("fox", seed=42, date="2026-11-24")  # doctest: +SKIP
    """
    store = _default_gallery() if gallery is None else resolve_gallery(gallery)
    if store is None:
        return History([], None)
    start = _when(since, "since") if since is not None else None
    end = _when(until, "until") if until is not None else None
    if date is not None:
        day = _when(date, "date").replace(hour=0, minute=0, second=0, microsecond=0)
        start, end = day, day + timedelta(days=1)
    entries = store.find(
        prompt,
        seed=seed,
        size=_size(size) if size is not None else None,
        since=start,
        until=end,
        limit=limit,
    )
    return History(entries, store)


def load_params(source: str | PathLike[str] | bytes) -> dict[str, Any]:
    """The generation parameters saved in an image (or its ``.json`` sidecar).

    Returns ``prompt``, ``width``, ``height``, ``seed`` and ``model``, validated, so the
    picture can be made again: ``client.generate(**load_params(path))``. A saved edit
    gives ``edit`` keyword arguments (its ``images`` as the URLs it sent, ``width`` and
    ``height`` None if it kept its first image's size): ``client.edit(**load_params(path))``;
    LoRAs come back as ``loras``. Raises ``ValueError`` if the file carries no (valid)
    klein-widget parameters.

    Example:
        >>> load_params("klein-outputs/2026-11-24/153012-a-red-fox-42.png")  # doctest: +SKIP
        {'prompt': 'a red fox', 'width': 768, 'height': 512, 'seed': 42, 'model': '4b'}
    """
    params = read_params(source)
    if params is None and not isinstance(source, bytes):
        sidecar = Path(source).with_name(Path(source).name + ".json")
        if sidecar.exists():
            params = json.loads(sidecar.read_text())
    where = "these bytes" if isinstance(source, bytes) else str(source)
    if not isinstance(params, dict):
        raise ValueError(
            f"{where} carries no klein-widget parameters: only images saved by klein-widget "
            "(the gallery, or Generation.save) can be regenerated this way."
        )
    try:
        request = request_from_params(params)
    except (InvalidRequestError, TypeError, ValueError) as error:
        raise ValueError(f"The parameters in {where} are not valid: {error}") from None
    return call_params(request)
