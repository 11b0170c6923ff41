"""The FLUX.2 [klein] family on WaveSpeed, as data: every model the package knows, once.

Each `KleinModel` says what WaveSpeed calls it (its id, which is also its submit path
under ``/api/v3/``), what it takes (``images`` for edits, ``loras`` for the LoRA
endpoint), its sizes, and its price with where that price comes from. Every door (the
client, the panel, the magic, the CLI, the emulator, the gateway, the ledger) reads this
table; a wrong path or a newly published price is a one-line fix here.

Prices are in mills (thousandths of a dollar). Where WaveSpeed publishes none,
``price_mills`` is None and ``price_source`` says "unconfirmed": budgets then reserve
`HIGHEST_KNOWN_PRICE_MILLS`, the most the family is known to charge (`reserve_mills`).

Example:
    >>> resolve_model("9b", edit=True).id
    'wavespeed-ai/flux-2-klein-9b/edit'
    >>> resolve_model("4b").price_mills
    8
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from klein_widget.client._exceptions import InvalidRequestError

__all__ = [
    "DEFAULT_MODEL",
    "HIGHEST_KNOWN_PRICE_MILLS",
    "MODELS",
    "PRICE_CORRECTED",
    "PRICE_FROM_PAGE",
    "PRICE_UNCONFIRMED",
    "KleinModel",
    "PriceBook",
    "find_model",
    "resolve_model",
]

Task = Literal["text-to-image", "text-to-image-lora", "edit"]

PRICE_FROM_PAGE = "its WaveSpeed page"
PRICE_UNCONFIRMED = "unconfirmed"
# WaveSpeed's edit endpoints take 1-4 references (the sibling FLUX.2 edit pages); LoRA
# endpoints elsewhere on WaveSpeed take up to 3 adapters (klein's own limit: unconfirmed).
MAX_REFERENCES = 4
MAX_LORAS = 3
LORA_SCALE_RANGE = (0.0, 2.0)  # WaveSpeed's other LoRA endpoints; 1 is the default


@dataclass(frozen=True)
class KleinModel:
    """One model of the family: how to call it and what it costs.

    Example:
        >>> m = resolve_model("4b-lora")
        >>> (m.path, m.takes_loras, m.takes_images)
        ('/api/v3/wavespeed-ai/flux-2-klein-4b/text-to-image-lora', True, False)
    """

    name: str
    """The short name: ``"4b"``, ``"9b"``, ``"4b-edit"``, ``"9b-edit"``, ``"4b-lora"``."""
    id: str
    """WaveSpeed's model id, also the submit path under ``/api/v3/``."""
    task: Task
    weights: Literal["4b", "9b"]
    price_mills: int | None
    """The price of one image in mills, or None where WaveSpeed publishes none."""
    price_source: str
    """Where ``price_mills`` comes from (`PRICE_FROM_PAGE`, or `PRICE_UNCONFIRMED`)."""
    min_side: int = 256
    max_side: int = 1536
    default_side: int = 1024

    @property
    def path(self) -> str:
        """The submit path: ``/api/v3/<id>``."""
        return f"/api/v3/{self.id}"

    @property
    def takes_images(self) -> bool:
        """An edit: ``images`` (1 to `max_images` URLs) is required, ``size`` optional."""
        return self.task == "edit"

    @property
    def takes_loras(self) -> bool:
        """The LoRA endpoint: ``loras`` is a list of ``{"path", "scale"}``."""
        return self.task == "text-to-image-lora"

    @property
    def max_images(self) -> int:
        """How many references the model takes (0: none)."""
        return MAX_REFERENCES if self.takes_images else 0

    @property
    def max_loras(self) -> int:
        """How many LoRAs the model takes (0: none; the real limit is unconfirmed)."""
        return MAX_LORAS if self.takes_loras else 0

    @property
    def price_confirmed(self) -> bool:
        """True when the price is WaveSpeed's published one."""
        return self.price_mills is not None

    @property
    def reserve_mills(self) -> int:
        """What a budget sets aside for one image: the price, or the family's highest."""
        return HIGHEST_KNOWN_PRICE_MILLS if self.price_mills is None else self.price_mills


_4B = "wavespeed-ai/flux-2-klein-4b"
_9B = "wavespeed-ai/flux-2-klein-9b"

MODELS: tuple[KleinModel, ...] = (
    # Paths follow the 4B page's pattern wavespeed-ai/<model>/<task>; the 9B edit page
    # shows only a docs slug (flux-2-klein-9b-edit), so its path is inferred.
    KleinModel("4b", f"{_4B}/text-to-image", "text-to-image", "4b", 8, PRICE_FROM_PAGE),
    KleinModel("9b", f"{_9B}/text-to-image", "text-to-image", "9b", None, PRICE_UNCONFIRMED),
    KleinModel("4b-edit", f"{_4B}/edit", "edit", "4b", None, PRICE_UNCONFIRMED),
    KleinModel("9b-edit", f"{_9B}/edit", "edit", "9b", 16, PRICE_FROM_PAGE),
    KleinModel("4b-lora", f"{_4B}/text-to-image-lora", "text-to-image-lora", "4b", None,
               PRICE_UNCONFIRMED),
)  # fmt: skip
DEFAULT_MODEL = MODELS[0]
HIGHEST_KNOWN_PRICE_MILLS = max(m.price_mills for m in MODELS if m.price_mills is not None)

_MODEL_BY_NAME = {key: m for m in MODELS for key in (m.name, m.id)}


def find_model(name: str) -> KleinModel | None:
    """The model with this short name or WaveSpeed id (any case), or None."""
    return _MODEL_BY_NAME.get(name.strip().lower()) if isinstance(name, str) else None


def resolve_model(name: str | KleinModel = DEFAULT_MODEL.name, *, edit: bool = False) -> KleinModel:
    """The model a user means by ``name``; ``edit=True`` gives the same weights' edit model.

    Raises `InvalidRequestError` (field ``model``) listing the known names otherwise.

    Example:
        >>> resolve_model("wavespeed-ai/flux-2-klein-9b/text-to-image").name
        '9b'
        >>> resolve_model("9b", edit=True).name
        '9b-edit'
    """
    model = name if isinstance(name, KleinModel) else find_model(name)
    if model is None:
        known = ", ".join(f"{m.name!r}" for m in MODELS)
        raise InvalidRequestError(
            f"model must be one of {known} (or a full WaveSpeed id such as "
            f"{DEFAULT_MODEL.id!r}), not {name!r}",
            field="model",
        )
    if edit and not model.takes_images:
        sibling = find_model(f"{model.weights}-edit")
        if sibling is None or model.takes_loras:
            raise InvalidRequestError(
                f"{model.name!r} has no edit model: edits use "
                + " or ".join(repr(m.name) for m in MODELS if m.takes_images),
                field="model",
            )
        return sibling
    return model


PRICE_CORRECTED = "WaveSpeed's price endpoint"


class PriceBook:
    """Each model's price as one client (or one shared ledger) knows it: the table's,
    corrected by what WaveSpeed's price endpoint answered (`AsyncKleinClient.model_price`
    writes here; the ledger reads `mills` and `confirmed`).

    Example:
        >>> book = PriceBook()
        >>> book.mills("9b"), book.confirmed("9b")
        (16, False)
        >>> book.correct("9b", 10)
        >>> book.mills("9b"), book.confirmed("9b"), book.source("9b")
        (10, True, "WaveSpeed's price endpoint")
    """

    def __init__(self) -> None:
        self._mills: dict[str, int] = {}
        self._lock = threading.Lock()

    def correct(self, model: str | KleinModel, mills: int) -> None:
        """Record ``mills`` as ``model``'s price, as the price endpoint answered it."""
        if isinstance(mills, bool) or not isinstance(mills, int) or mills <= 0:
            raise ValueError(f"a price is a positive whole number of mills, not {mills!r}")
        with self._lock:
            self._mills[resolve_model(model).name] = mills

    def corrected(self, model: str | KleinModel) -> int | None:
        """The price the endpoint answered for ``model``, or None if it has not."""
        with self._lock:
            return self._mills.get(resolve_model(model).name)

    def mills(self, model: str | KleinModel) -> int:
        """What one image of ``model`` costs (or reserves, while unconfirmed), in mills."""
        found = self.corrected(model)
        return resolve_model(model).reserve_mills if found is None else found

    def confirmed(self, model: str | KleinModel) -> bool:
        """True if the price is a known one: corrected here, or published on its page."""
        return self.corrected(model) is not None or resolve_model(model).price_confirmed

    def source(self, model: str | KleinModel) -> str:
        """Where `mills` comes from (for the spend line and ``params()``)."""
        if self.corrected(model) is not None:
            return PRICE_CORRECTED
        return resolve_model(model).price_source
