"""`Generation`: one finished image with everything needed to reproduce it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from klein_widget._version import __version__
from klein_widget.client._family_inputs import family_params
from klein_widget.client._metadata import ImageFormat, detect_format, embed_params
from klein_widget.client._models import (
    GenerationRequest,
    MadeFromRequest,
    Prediction,
)

if TYPE_CHECKING:
    from PIL.Image import Image

_EXTENSIONS: dict[str, ImageFormat] = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


@dataclass(frozen=True, repr=False)
class Generation(MadeFromRequest):
    """A completed image: the bytes as served, the request (with its concrete seed), the task.

    Example:
        >>> gen = client.generate("a red fox", width=768, height=512, seed=42)  # doctest: +SKIP
        >>> gen.seed, gen.size, gen.save("fox.png")  # doctest: +SKIP
        (42, (768, 512), PosixPath('fox.png'))
    """

    request: GenerationRequest
    prediction: Prediction
    image: bytes
    elapsed: float = 0.0  # seconds from submit to image in hand, measured client-side
    path: Path | None = None  # where the gallery stored it, if it did
    from_gallery: bool = False  # already made: answered from disk, not sent, not paid
    from_pack: str = ""  # the lesson pack's name, if it came from one (from_gallery too)
    # Provenance: made by a simulating server (the emulator, a rehearsal gateway) or by the
    # real service, and which one. Unknown counts as simulated: never passed off as real.
    simulated: bool = True
    service: str = ""
    # A stand-in the gallery held for this request and did not use (the request went to a
    # real service): the stand-in's service, so the status can say why this was paid.
    passed_over: str = ""
    # (mills, confirmed) as the client's ledger priced it (its price endpoint may have
    # corrected the table's); None: the table's (`KleinModel.reserve_mills`).
    price: tuple[int, bool] | None = None

    @property
    def format(self) -> ImageFormat:
        """``"png"`` or ``"jpeg"`` (or another), read from the bytes themselves."""
        return detect_format(self.image)

    @property
    def task_id(self) -> str:
        """The server's id for the task."""
        return self.prediction.id

    @property
    def nsfw(self) -> bool:
        """True if the server flagged the image."""
        return self.prediction.nsfw

    @property
    def model(self) -> str:
        """The model's short name (``"4b"``, ``"9b-edit"``, ...): ``request.model``."""
        return self.request.model

    @property
    def price_confirmed(self) -> bool:
        """False when the model's price is unconfirmed (``cost`` is then what a budget
        reserves for it: the family's highest known price)."""
        return self.price[1] if self.price else self.request.klein_model.price_confirmed

    @property
    def cost(self) -> float:
        """What this image cost this time, in dollars: the model's price (reserved at the
        family's highest while unconfirmed: `price_confirmed`); nothing if it came from
        the gallery (or a gateway's class store answered it, ``cached``)."""
        if self.from_gallery or self.prediction.cached:
            return 0.0
        return (self.price[0] if self.price else self.request.klein_model.reserve_mills) / 1000

    def _made_size(self) -> tuple[int, int]:
        try:  # the header only: Pillow decodes no pixels for .size
            with self.to_pil() as picture:
                return (int(picture.width), int(picture.height))
        except Exception:  # no bytes (a batch keeps them on disk), or not an image
            return (0, 0)

    def params(self) -> dict[str, Any]:
        """Everything needed to regenerate this image; embedded by `save`."""
        created = self.prediction.created_at
        request = self.request
        return {
            "prompt": self.prompt,
            "width": request.width,
            "height": request.height,
            "seed": self.seed,
            "model": self.prediction.model,
            **family_params(request),
            "task_id": self.task_id,
            "created_at": created.isoformat() if created else None,
            "inference_ms": self.prediction.inference_ms,
            "cost": self.cost,
            "nsfw": self.nsfw,
            "simulated": self.simulated,
            "service": self.service,
            "generator": f"klein-widget {__version__}",
        }

    def to_pil(self) -> Image:
        """The image as a Pillow ``Image`` (decoded on each call)."""
        from PIL import Image as PILImage

        return PILImage.open(io.BytesIO(self.image))

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the image with its parameters embedded; returns the path written.

        Without a suffix, the served format's suffix is added. A ``.jpg`` path for a PNG
        image (or the reverse) converts it.
        """
        target = Path(path)
        if target.suffix.lower() not in _EXTENSIONS:
            target = target.with_name(target.name + (".jpg" if self.format == "jpeg" else ".png"))
        data = self.image
        wanted = _EXTENSIONS[target.suffix.lower()]
        if wanted != self.format:
            out = io.BytesIO()
            self.to_pil().convert("RGB").save(out, format=wanted.upper())
            data = out.getvalue()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(embed_params(data, self.params()))
        return target

    def _repr_png_(self) -> bytes | None:
        return self.image if self.format == "png" else None

    def _repr_jpeg_(self) -> bytes | None:
        return self.image if self.format == "jpeg" else None

    def __repr__(self) -> str:
        return (
            f"Generation(prompt={self.prompt!r}, size={self.size[0]}x{self.size[1]},"
            f" seed={self.seed}, task_id={self.task_id!r}, {len(self.image)} bytes {self.format})"
        )
