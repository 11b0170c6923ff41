"""What a client asks of its journal and tells it: free re-runs (`_already_made`), what a
batch's plan takes from it, and each finished image journaled, then ``on_image`` told. A
mixin of `BaseClient`, kept apart so each module reads in one sitting.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Iterable

from klein_widget.client import _config
from klein_widget.client._generation import Generation
from klein_widget.client._journal import Journal
from klein_widget.client._ledger import Ledger
from klein_widget.client._models import DEFAULT_SIDE, RANDOM_SEED, GenerationRequest
from klein_widget.client._provenance import ProvenanceRules
from klein_widget.client.batch._plan import Plan, build_requests, plan_batch

__all__ = ["JournalRules"]

# Every decision of the client logs to one logger, `_base`'s: silent unless configured.
_log = logging.getLogger("klein_widget.client._base")


class JournalRules(ProvenanceRules):
    """The journal's part in a call (mixed into `BaseClient`; which images count as real
    is `ProvenanceRules`')."""

    journal: Journal | None
    on_image: Callable[[Generation], None] | None
    _ledger: Ledger
    _rng: random.Random

    def _already_made(self, request: GenerationRequest, fresh: bool) -> Generation | None:
        """Free re-runs, the one rule: a request with a seed of its own (not drawn here)
        whose image the journal (the gallery, a lesson pack) already holds is answered from
        there, not sent and not paid; ``fresh=True`` asks the server again.

        A request to a real service takes only a real image: a simulated stand-in (or one
        whose origin is unknown) is passed over, the request is sent, and the finished
        image says which stand-in it replaced (``passed_over``)."""
        if fresh or request.seed_drawn or self.journal is None:
            return None
        real_only = not self.stand_ins_answer
        made = self.journal.stored(request, real_only=real_only)
        if made is None:
            if real_only:
                stand_in = self.journal.stored(request, real_only=False)
                if stand_in is not None:
                    _log.info("passing over a stand-in for %r: asking the real service", request)
                    self._pass_over(request, stand_in)
            return None
        self._ledger.reuse(self._ledger.price_for(request.klein_model)[0])
        return dataclasses.replace(made, from_gallery=True)

    def plan_batch(
        self,
        items: Iterable[str | GenerationRequest],
        *,
        width: int = DEFAULT_SIDE,
        height: int = DEFAULT_SIDE,
        seed: int = RANDOM_SEED,
        fresh: bool = False,
    ) -> Plan:
        """A batch's plan (internal: `generate_many`'s first step): every item validated
        before anything is sent, ``-1`` seeds drawn, duplicates merged, what the journal
        has taken from it free (`_already_made`) and what an earlier run paid for fetched.
        Disk work: the async client runs it in a worker thread."""
        requests = build_requests(items, width=width, height=height, seed=seed, rng=self._rng)
        journal = self.journal
        if journal is None or fresh:
            return plan_batch(requests)
        origin = _config.url_origin(self.base_url)
        return plan_batch(
            requests,
            lambda r: self._already_made(r, fresh),
            lambda r: journal.unfinished_task(r, origin),
        )

    def _journal_completed(self, generation: Generation) -> Generation:
        """Store the image in the journal (with ``path`` set), then tell ``on_image``. Disk
        I/O: the async client runs it in a worker thread."""
        if self.journal is not None:
            generation = self.journal.task_completed(generation)
        if self.on_image is not None:
            self.on_image(generation)
        return generation
