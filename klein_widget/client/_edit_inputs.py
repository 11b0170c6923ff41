"""An edit's images as references: STAND-IN until `klein_widget.client._references` (its
`to_references` reads paths, bytes, PIL images, generations and gallery entries, and the
uploads mixin sends the local ones) is merged; until then only ``http(s)`` URLs.

Example:
    >>> to_references(["https://example.com/cat.png"])[0].url
    'https://example.com/cat.png'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import MAX_REFERENCES
from klein_widget.client._family_inputs import url_sha256

__all__ = ["ImageInputs", "UrlReference", "to_references"]

# What ``edit(images=...)`` takes: one image or a list of 1 to 4.
ImageInputs = object


@dataclass(frozen=True)
class UrlReference:
    """A reference image given as a URL: sent as it is, known by `url_sha256`."""

    url: str
    sha256: str


def to_references(images: ImageInputs) -> tuple[UrlReference, ...]:
    """``images`` as references, in order; `InvalidRequestError` (field ``images``) for
    none, more than `MAX_REFERENCES`, or one this build cannot read.

    Example:
        >>> len(to_references("https://example.com/a.png"))
        1
    """
    one = isinstance(images, str | bytes) or not isinstance(images, Sequence)
    items = [images] if one else list(images)  # type: ignore[call-overload]
    if not 1 <= len(items) <= MAX_REFERENCES:
        raise InvalidRequestError(
            f"an edit takes 1 to {MAX_REFERENCES} images, not {len(items)}", field="images"
        )
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.startswith(("http://", "https://")):
            raise InvalidRequestError(
                f"images[{i}] must be an http(s) URL in this build, not {type(item).__name__}",
                field="images",
            )
        out.append(UrlReference(item, url_sha256(item)))
    return tuple(out)
