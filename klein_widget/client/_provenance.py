"""Whether a client's server simulates, and what that makes of the images it serves.

The one rule (for the spend line, the gallery and packs alike): a server is simulating
(the local emulator, a rehearsal gateway: charges bill nothing, images are stand-ins) if
it says ``"simulated": true`` in its answers; if it has not said, a server on this machine
(loopback) is taken to be the emulator and any other to be real. A mixin of `BaseClient`,
kept apart so each module reads in one sitting.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from klein_widget.client import _config
from klein_widget.client._constants import REMEMBERED_TASKS
from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest, Prediction

__all__ = ["ProvenanceRules"]


class ProvenanceRules:
    """What the server last said about ``simulated``, and the stand-ins passed over."""

    base_url: str

    def _init_provenance(self) -> None:
        # What this client's server last said (origin, said): see `_simulates`.
        self._heard: tuple[str, bool] | None = None
        # Recipe keys whose stored stand-in was passed over -> the stand-in's service.
        self._passed_over: OrderedDict[str, str] = OrderedDict()

    @property
    def server_simulates(self) -> bool:
        """Whether this client's server is taken to simulate (the emulator, a rehearsal
        gateway): then its charges bill nothing and any stored image may answer it; a real
        service is answered only with real images. See `_simulates`, the one rule."""
        return self._simulates(None)

    def _simulates(self, prediction: Prediction | None) -> bool:
        """As the server says in an answer (remembered for the next request), else by where
        it is: on this machine (loopback), an emulator."""
        origin = _config.url_origin(self.base_url)
        said = prediction.simulated if prediction is not None else None
        if said is not None:
            self._heard = (origin, said)
            return said
        if self._heard is not None and self._heard[0] == origin:
            return self._heard[1]
        return _config.is_local(self.base_url)

    def _pass_over(self, request: GenerationRequest, stand_in: Generation) -> None:
        """A stored stand-in did not answer ``request`` (its server is real): remember
        whose it was, so the paid image can say why it was paid."""
        self._passed_over[request.key] = stand_in.service or "a simulating server"
        while len(self._passed_over) > REMEMBERED_TASKS:
            self._passed_over.popitem(last=False)

    def _provenance(self, request: GenerationRequest, prediction: Prediction) -> dict[str, Any]:
        """The provenance fields of the `Generation` this server just made for ``request``."""
        simulated = self._simulates(prediction)
        return {
            "simulated": simulated,
            "service": _config.service_name(self.base_url, simulated),
            "passed_over": self._passed_over.pop(request.key, ""),
        }
