"""What one click asks for: a model, a mode, and for an edit its references.

`PanelOrder` rides along with each job (`klein_widget.widget._jobs`) and makes the one
client call it stands for: ``generate(..., model="9b")``, or ``edit(prompt, images=[...],
model=..., width=None, height=None)`` when the size is "as reference" (then ``size`` is
not sent and the image keeps image 1's size). `model_line` is what the panel's header
and status say about the model and its price, from the registry
(`klein_widget.client._family`): the page never holds a price of its own.

Example:
    >>> model_line("9b", edit=False, base_url="https://api.wavespeed.ai")
    'FLUX.2 [klein] 9B · $0.016 reserved (price unconfirmed)'
    >>> model_line("4b", edit=False, base_url="https://api.wavespeed.ai")
    'FLUX.2 [klein] 4B · $0.008 per image'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from klein_widget.client._async_client import AsyncKleinClient
from klein_widget.client._config import is_local
from klein_widget.client._family import MODELS, KleinModel, PriceBook, resolve_model
from klein_widget.client._generation import Generation
from klein_widget.client._ledger import money
from klein_widget.client._models import GenerationRequest
from klein_widget.client._run import ProgressCallback
from klein_widget.widget._tray import TrayItem

__all__ = ["PANEL_MODES", "WEIGHTS", "PanelOrder", "model_choices", "model_line"]

Mode = Literal["generate", "edit"]
PANEL_MODES: tuple[Mode, ...] = ("generate", "edit")
# The picker offers the weights that both generate and edit (the LoRA endpoint is another door).
WEIGHTS: tuple[str, ...] = tuple(m.name for m in MODELS if m.task == "text-to-image")


def model_line(
    weights: str, *, edit: bool, base_url: str | None, prices: PriceBook | None = None
) -> str:
    """``FLUX.2 [klein] 9B · $0.016 reserved (price unconfirmed)``: the model and what one
    image costs (or, unpublished, what a budget sets aside); ``simulated`` on an emulator.
    ``prices``: the client's, once WaveSpeed's price endpoint corrected one."""
    model = resolve_model(weights, edit=edit)
    book = prices or PriceBook()
    name = f"FLUX.2 [klein] {model.weights.upper()}{' edit' if edit else ''}"
    how = "per image" if book.confirmed(model) else "reserved (price unconfirmed)"
    simulated = " · simulated" if is_local(base_url) else ""
    return f"{name} · {money(book.mills(model) / 1000)} {how}{simulated}"


def model_choices() -> list[dict[str, Any]]:
    """The picker's options, from the registry: ``{"name": "9b", "label": "9B"}``."""
    return [{"name": w, "label": w.upper()} for w in WEIGHTS]


def canonical_weights(name: Any) -> str:
    """``"9b"`` for any name of the 9B weights (short, edit, or full WaveSpeed id);
    raises `InvalidRequestError` (field ``model``) for a name the registry does not know."""
    model = resolve_model(str(name))
    if model.weights not in WEIGHTS or model.takes_loras:
        return resolve_model(model.weights).name
    return model.weights


@dataclass(frozen=True)
class PanelOrder:
    """The model and, for an edit, the references (image 1 first) of one job.
    ``sized`` False: the edit sends no size (the output keeps image 1's size)."""

    weights: str = "4b"
    references: tuple[TrayItem, ...] = ()
    sized: bool = True

    @property
    def edit(self) -> bool:
        """True for an edit (it has references)."""
        return bool(self.references)

    @property
    def label(self) -> str:
        """``"9B edit"``: the model in the job's progress line."""
        return f"{self.weights.upper()}{' edit' if self.edit else ''}"

    @property
    def model(self) -> KleinModel:
        """The registry's model this job calls."""
        return resolve_model(self.weights, edit=self.edit)

    async def run(
        self,
        client: AsyncKleinClient,
        request: GenerationRequest,
        on_progress: ProgressCallback,
        fresh: bool,
    ) -> Generation:
        """Make the image: ``generate`` or ``edit``, on ``request``'s prompt and seed."""
        if not self.edit:
            request = dataclasses.replace(request, model=self.weights)
            return await client.generate(request, on_progress=on_progress, fresh=fresh)
        return await client.edit(
            request.prompt,
            [item.image() for item in self.references],
            model=self.weights,
            width=request.width if self.sized else None,
            height=request.height if self.sized else None,
            seed=request.seed,
            on_progress=on_progress,
            fresh=fresh,
        )
