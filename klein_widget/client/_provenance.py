"""Whether a client's server simulates, and what that makes of the images it serves.

The one rule (for the spend line, the gallery and packs alike): a server is simulating
(the local emulator, a rehearsal gateway: charges bill nothing, images are stand-ins) if
it says ``"simulated": true`` in its answers; if it has not said, a server on this machine
(loopback) is taken to be the emulator and any other to be real. A mixin of `BaseClient`,
kept apart so each module reads in one sitting.

Free re-runs ask more: a stored stand-in answers only a server that has said it simulates
(`stand_ins_answer`). Until this client's server has said, it may be a gateway in front of
WaveSpeed on this machine, so "not yet known" takes only real images; the first answer
settles it.
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
    _heard: tuple[str, bool] | None  # what this client's server last said (origin, said)
    # Recipe keys whose stored stand-in was passed over -> the stand-in's service.
    _passed_over: OrderedDict[str, str]

    @property
    def server_simulates(self) -> bool:
        """Whether this client's server is taken to simulate (the emulator, a rehearsal
        gateway): then its charges bill nothing and any stored image may answer it; a real
        service is answered only with real images. See `_simulates`, the one rule."""
        return self._simulates(None)

    @property
    def stand_ins_answer(self) -> bool:
        """Whether a stored stand-in (or an image of unknown origin) may answer this
        client's server, free: only once that server has said ``"simulated": true``. A
        loopback server not yet heard from counts as the emulator for the spend line
        (`server_simulates`), but a stand-in passed off as real costs more than one
        simulated image sent, so until it has said, the lookup takes only real images."""
        return self._heard == (_config.url_origin(self.base_url), True)

    def heard_from_server(self, simulated: bool) -> None:
        """Take it as said that this client's server simulates (or not), as if it had
        answered: for a caller that knows for sure, e.g. a session that started the
        emulator it points its clients at (its stand-ins may then answer at once)."""
        self._heard = (_config.url_origin(self.base_url), simulated)

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
        """A stored stand-in did not answer ``request`` (its server is real, or has not yet
        said): remember whose it was, so the paid image can say why it was paid."""
        self._passed_over[request.key] = stand_in.service or "a simulating server"
        while len(self._passed_over) > REMEMBERED_TASKS:
            self._passed_over.popitem(last=False)

    def _provenance(self, request: GenerationRequest, prediction: Prediction) -> dict[str, Any]:
        """The provenance fields of the `Generation` this server just made for ``request``."""
        simulated = self._simulates(prediction)
        passed_over = self._passed_over.pop(request.key, "")
        return {
            "simulated": simulated,
            "service": _config.service_name(self.base_url, simulated),
            # A stand-in passed over while the server's nature was not yet known was no
            # replacement if the server turns out to simulate: nothing to explain then.
            "passed_over": "" if simulated else passed_over,
        }
