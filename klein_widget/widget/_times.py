"""How long the panel's images take, for the progress bar's estimate.

The bar measures a job from the click to the image on screen (sending, queue, inference,
download), so it learns exactly that: each finished image's ``elapsed`` per size, with the
client's own rule (`klein_widget.client._policy.InferenceTimes`: a running average per
size, a scaled lower bound for sizes not seen yet). It learns from the panel's images,
from the session's others (``%klein``, other panels) and, when a panel opens, from the
gallery's recorded times. Images answered from the gallery taught nothing (no wait).

Example:
    >>> from klein_widget import GenerationRequest
    >>> times = GenerationTimes()
    >>> times.expected(GenerationRequest("a fox", 512, 512)) is None  # nothing learned yet
    True
"""

from __future__ import annotations

from klein_widget.client._generation import Generation
from klein_widget.client._models import GenerationRequest
from klein_widget.client._policy import InferenceTimes

__all__ = ["GenerationTimes"]


class GenerationTimes:
    """End-to-end seconds per image size, learned from finished images."""

    def __init__(self) -> None:
        self._times = InferenceTimes()

    def expected(self, request: GenerationRequest) -> float | None:
        """Seconds ``request`` should take, or None before anything is learned."""
        return self._times.expected(request.pixels)

    def learn_from(self, generation: Generation | None) -> None:
        """Learn from one finished image (not from one the gallery answered)."""
        if generation is None or generation.elapsed <= 0 or generation.from_gallery:
            return
        request = generation.request
        self._times.learn(request.pixels, round(generation.elapsed * 1000))
