"""What the clients decide for the family's models: which endpoint and price a request
goes to (`Charge`), an edit's request from its references (and a batch's edits), when a model's unconfirmed
price is asked of its server, and the status note while a stand-in is passed over.

A mixin of `BaseClient`, kept apart so each module reads in one sitting.

Example:
    >>> from klein_widget.client._ledger import Ledger
    >>> charge_for(GenerationRequest("a fox", model="9b"), Ledger())
    Charge(path='/api/v3/wavespeed-ai/flux-2-klein-9b/text-to-image', mills=16, kind='image', confirmed=False, paced=True)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from klein_widget.client import _config
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import KleinModel, resolve_model
from klein_widget.client._journaling import JournalRules
from klein_widget.client._ledger import Ledger
from klein_widget.client._models import (
    PRICE_PER_ENHANCE_MILLS,
    RANDOM_SEED,
    GenerationRequest,
)
from klein_widget.client._references import Reference, to_references
from klein_widget.client._run import asking_note
from klein_widget.client.batch._plan import each_item

__all__ = [
    "Charge",
    "FamilyRules",
    "ImageInputs",
    "charge_for",
    "edit_request",
    "edit_requests",
]

# What ``edit(images=...)`` takes: one image or 1 to 4 of them (see `to_references`).
ImageInputs = Any


class Charge(NamedTuple):
    """Where a submit goes and what it reserves."""

    path: str
    mills: int
    kind: str  # "image" (journaled, paced) or "enhancement"
    confirmed: bool
    paced: bool


def charge_for(request: GenerationRequest, ledger: Ledger, model_id: str | None = None) -> Charge:
    """An image request's endpoint and price (its model's: `Ledger.price_for`); with
    ``model_id`` (the prompt optimizer) that model's path at the optimizer's price."""
    if model_id is not None:
        return Charge(_config.submit_path(model_id), PRICE_PER_ENHANCE_MILLS, "enhancement",
                      True, False)  # fmt: skip
    mills, confirmed = ledger.price_for(request.klein_model)
    return Charge(request.klein_model.path, mills, "image", confirmed, True)


def edit_request(
    prompt: str,
    references: Sequence[Reference],
    *,
    model: str | KleinModel,
    width: int | None,
    height: int | None,
    seed: int = RANDOM_SEED,
    sync_mode: bool = False,
    base64_output: bool = False,
) -> GenerationRequest:
    """An edit of ``references`` on ``model``'s edit model; its ``images`` are the
    references' URLs when all are URLs, else empty until they are uploaded."""
    urls = tuple(ref.url for ref in references)
    return GenerationRequest(
        prompt,
        width,
        height,
        seed,
        sync_mode,
        base64_output,
        model=resolve_model(model, edit=True).name,
        images=tuple(u for u in urls if u) if all(urls) else (),
        references=tuple(ref.sha256 for ref in references),
    )


def edit_requests(
    items: Iterable[object],
    images: ImageInputs | None,
    *,
    model: str | KleinModel,
    width: int | None,
    height: int | None,
    seed: int,
) -> tuple[list[GenerationRequest], dict[str, Reference]]:
    """`edit_many`'s requests, each validated (its images read) before anything is
    sent: an item is a prompt (an edit of ``images``), a ``(prompt, images)`` pair or
    a `GenerationRequest`; and every reference by its sha256, to upload."""
    if isinstance(items, str | GenerationRequest):
        raise InvalidRequestError(
            "edit_many takes a list of prompts (each an edit of images=...), of "
            "(prompt, images) pairs or of GenerationRequest objects; for one edit use edit().",
            field="items",
        )
    references: dict[str, Reference] = {}

    def edit(item: object) -> GenerationRequest:
        prompt, own = item if isinstance(item, tuple) else (item, images)
        if own is None:
            raise InvalidRequestError(
                "no images to edit: pass images=[...] or (prompt, images) items", field="images"
            )
        refs = to_references(own)
        references.update((ref.sha256, ref) for ref in refs)
        return edit_request(prompt, refs, model=model, width=width, height=height, seed=seed)

    return each_item(items, edit), references


class FamilyRules(JournalRules):
    """The family's decisions around a call (mixed into `BaseClient`, over the journal's
    and the provenance rules)."""

    _api_key: str | None

    def _asking_note(self, request: GenerationRequest) -> str:
        """The status while ``request`` is sent: why, when the gallery held only a
        stand-in for it (`_already_made` passed it over)."""
        if request.key not in self._passed_over:
            return ""
        return asking_note(_config.service_name(self.base_url, False))

    def _price_to_ask(self, model: KleinModel) -> bool:
        """Ask ``model``'s server its price now? Once per ledger, for a model whose price
        is unconfirmed, with a real key on a real server (an emulator's figure is its own
        guess). Marked asked here, so concurrent calls ask once."""
        ledger = self._ledger
        if model.price_confirmed or self._api_key is None or self._simulates(None):
            return False
        if model.name in ledger.asked_prices or ledger.price_for(model)[1]:
            return False
        ledger.asked_prices.add(model.name)
        return True
