"""Pure data: what we ask for (`GenerationRequest`); what the server says (`Prediction`) is
in `_prediction`, re-exported here.

Every rule about valid input lives here, once: the clients, the panel, the magic, the
CLI and the emulator all build a `GenerationRequest`, and it refuses to exist invalid.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from klein_widget.client._checks import check_bool, check_int
from klein_widget.client._checks import check_prompt as check_prompt
from klein_widget.client._exceptions import InvalidRequestError
from klein_widget.client._family import DEFAULT_MODEL, KleinModel, find_model
from klein_widget.client._family_inputs import check_family, lora_json, loras_from_json
from klein_widget.client._prediction import MODEL_ID as MODEL_ID
from klein_widget.client._prediction import Prediction as Prediction
from klein_widget.client._prediction import Status as Status
from klein_widget.client._recipe import Recipe, recipe_key

ENHANCER_MODEL_ID = "wavespeed-ai/prompt-optimizer"
MIN_SIDE = DEFAULT_MODEL.min_side
MAX_SIDE = DEFAULT_MODEL.max_side
DEFAULT_SIDE = DEFAULT_MODEL.default_side
SIDE_STEP = 16  # the model works in multiples of 16; other sizes are resized server-side
MAX_SEED = 2_147_483_647
RANDOM_SEED = -1
# Money is counted in mills (thousandths of a dollar) so sums are exact.
PRICE_PER_IMAGE_MILLS: int = DEFAULT_MODEL.reserve_mills
PRICE_PER_ENHANCE_MILLS = 1
PRICE_PER_IMAGE = PRICE_PER_IMAGE_MILLS / 1000
DEFAULT_SIZE = f"{DEFAULT_SIDE}*{DEFAULT_SIDE}"


@dataclass(frozen=True)
class GenerationRequest:
    """One request to a model of the family, validated on construction.

    ``seed=-1`` means "random"; `with_concrete_seed` draws it client-side so every image
    has a known seed. ``model`` is a short name or WaveSpeed id (kept as the short name);
    an edit model takes ``references`` (each image's sha256 hex) and, once uploaded, their
    ``images`` URLs, and may leave ``width``/``height`` None (the first image's size);
    the LoRA endpoint takes ``loras`` as ``((path, scale), ...)``.

    Example:
        >>> r = GenerationRequest("a red fox", width=768, height=512, seed=42)
        >>> r.to_json()["size"]
        '768*512'
        >>> GenerationRequest("make it night", None, None, 7, model="9b-edit",
        ...     images=("https://example.com/cat.png",)).to_json()["images"]
        ['https://example.com/cat.png']
    """

    prompt: str
    width: int | None = DEFAULT_SIDE
    height: int | None = DEFAULT_SIDE
    seed: int = RANDOM_SEED
    sync_mode: bool = False
    base64_output: bool = False
    # Drawn here for seed=-1: such a request never takes an image already made.
    seed_drawn: bool = field(default=False, compare=False, repr=False)
    model: str = DEFAULT_MODEL.name
    images: tuple[str, ...] = ()  # the URLs sent (an edit's, once uploaded), in order
    references: tuple[str, ...] = ()  # sha256 hex of each image's bytes (of a URL: its text)
    loras: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        side_hint = f" pixels (multiples of {SIDE_STEP} work best)"
        object.__setattr__(self, "prompt", check_prompt(self.prompt))
        klein, images, references, loras = check_family(
            self.model, self.images, self.references, self.loras
        )
        for name, value in (("model", klein.name), ("images", images)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "references", references)
        object.__setattr__(self, "loras", loras)
        if self.width is None or self.height is None:
            if not klein.takes_images or (self.width, self.height) != (None, None):
                raise InvalidRequestError(
                    "width and height are needed (only an edit may leave both out, to keep "
                    "the first image's size)",
                    field="width" if self.width is None else "height",
                )
        else:
            check_int("width", self.width, klein.min_side, klein.max_side, side_hint)
            check_int("height", self.height, klein.min_side, klein.max_side, side_hint)
        check_int("seed", self.seed, RANDOM_SEED, MAX_SEED, " (-1 means random)")
        check_bool("sync_mode", self.sync_mode)
        check_bool("base64_output", self.base64_output)

    @property
    def klein_model(self) -> KleinModel:
        """The model of the family this request goes to (`KleinModel`)."""
        found = find_model(self.model)
        assert found is not None  # checked on construction
        return found

    @property
    def is_edit(self) -> bool:
        """True for an edit (reference images in, ``size`` optional)."""
        return self.klein_model.takes_images

    @property
    def size(self) -> str:
        """The size as the API writes it, ``"W*H"`` (``""`` for an edit left at its
        first image's size)."""
        return "" if self.width is None else f"{self.width}*{self.height}"

    @property
    def pixels(self) -> int:
        """Pixels asked for (an edit that keeps its image's size: the default's), for
        the poll schedule and the inline-image policy."""
        return (self.width or DEFAULT_SIDE) * (self.height or DEFAULT_SIDE)

    def recipe(self, model: str | None = None) -> Recipe:
        """What decides this request's picture: see `Recipe` (``model``: another model
        id to ask it of; default this request's own)."""
        return Recipe(
            model or self.klein_model.id,
            self.prompt,
            self.width,
            self.height,
            self.seed,
            self.references,
            self.loras,
        )

    @property
    def key(self) -> str:
        """What makes two requests the same image: the key of its `recipe` (`recipe_key`)."""
        return recipe_key(self.recipe())

    def with_concrete_seed(self, rng: random.Random | None = None) -> GenerationRequest:
        """Return this request with ``seed=-1`` replaced by a drawn seed (others unchanged)."""
        if self.seed != RANDOM_SEED:
            return self
        seed = (rng or random.SystemRandom()).randint(0, MAX_SEED)
        return dataclasses.replace(self, seed=seed, seed_drawn=True)

    def to_json(self) -> dict[str, Any]:
        """The submit body, parameters flat as the API expects: ``size`` only when set,
        ``images`` and ``loras`` only when the model takes them."""
        if self.is_edit and len(self.images) != len(self.references):
            raise InvalidRequestError(
                "this edit's images are not uploaded yet: send it with edit()", field="images"
            )
        body: dict[str, Any] = {"prompt": self.prompt}
        if self.width is not None:
            body["size"] = self.size
        body["seed"] = self.seed
        if self.images:
            body["images"] = list(self.images)
        if self.loras:
            body["loras"] = lora_json(self.loras)
        body["enable_sync_mode"] = self.sync_mode
        body["enable_base64_output"] = self.base64_output
        return body

    @classmethod
    def from_json(
        cls, body: Mapping[str, Any], model: str | KleinModel | None = None
    ) -> GenerationRequest:
        """Validate a submit body for ``model`` the way the server does (used by the
        emulator). Without ``model``: an edit if it has ``images``, the 4B LoRA endpoint
        if it has ``loras``, else the 4B text-to-image model.

        Example:
            >>> GenerationRequest.from_json({"prompt": "fox", "size": "512*512"}).width
            512
        """
        if "prompt" not in body:
            raise InvalidRequestError("prompt is required", field="prompt")
        if model is None:
            model = "4b-edit" if "images" in body else "4b-lora" if "loras" in body else "4b"
        klein = model if isinstance(model, KleinModel) else find_model(model)
        default = None if klein is not None and klein.takes_images else DEFAULT_SIZE
        size = body.get("size", default)
        width, height = (None, None) if size is None else parse_size(size)
        images = body.get("images", ())
        return cls(
            prompt=body["prompt"],
            width=width,
            height=height,
            seed=body.get("seed", RANDOM_SEED),
            sync_mode=body.get("enable_sync_mode", False),
            base64_output=body.get("enable_base64_output", False),
            model=model.name if isinstance(model, KleinModel) else model,
            images=tuple(images) if isinstance(images, list) else images,
            loras=loras_from_json(body.get("loras", ())),  # type: ignore[arg-type]
        )


class MadeFromRequest:
    """The prompt, seed and size of anything made from a `GenerationRequest`.

    Shared by `Generation` and the gallery's entries, which hold a ``request`` field.
    """

    request: GenerationRequest

    @property
    def prompt(self) -> str:
        """The prompt as sent."""
        return self.request.prompt

    @property
    def seed(self) -> int:
        """The concrete seed the image was made with (never -1)."""
        return self.request.seed

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as requested; an edit that kept its first image's size: the
        size it was made at."""
        width, height = self.request.width, self.request.height
        return (width, height) if width is not None and height is not None else self._made_size()

    def _made_size(self) -> tuple[int, int]:
        """The size of what was made, where the request left it out ((0, 0): unknown)."""
        return (0, 0)

    @property
    def references(self) -> tuple[str, ...]:
        """An edit's reference images by sha256 hex of their bytes, in order."""
        return self.request.references

    @property
    def images(self) -> tuple[str, ...]:
        """An edit's reference image URLs as sent, in order."""
        return self.request.images

    @property
    def loras(self) -> tuple[tuple[str, float], ...]:
        """The LoRAs as ``((path, scale), ...)``."""
        return self.request.loras


def parse_size(size: object) -> tuple[int, int]:
    """Parse ``"W*H"`` (also ``"WxH"``) into two ints; range checks happen in the request.

    Example:
        >>> parse_size("768*512")
        (768, 512)
    """
    if isinstance(size, str):
        parts = size.lower().replace("x", "*").split("*")
        # isdecimal and ascii: "²".isdigit() is True but int("²") fails.
        if len(parts) == 2 and all(p.strip().isdecimal() and p.isascii() for p in parts):
            return int(parts[0]), int(parts[1])
    raise InvalidRequestError(
        f'size must look like "1024*768" (width*height, each {MIN_SIDE} to {MAX_SIDE}), '
        f"not {size!r}",
        field="size",
    )


# The optimizer's input field is not in any public schema we have; `text` is what its
# model page shows. Kept in one place so it is one line to change.
ENHANCER_INPUT_FIELD = "text"


# The optimizer's styles, as its model page lists them; "default" is what it uses unasked.
ENHANCER_STYLES = ("default", "artistic", "photographic", "technical", "anime", "realistic")


def check_style(style: object) -> str:
    """``style`` if the prompt optimizer knows it, else `InvalidRequestError` (nothing sent).

    Example:
        >>> check_style("anime")
        'anime'
    """
    if style not in ENHANCER_STYLES:
        raise InvalidRequestError(
            f"style must be one of {', '.join(ENHANCER_STYLES)}, not {style!r}", field="style"
        )
    return str(style)


def enhancer_body(text: str, style: str | None = None) -> dict[str, Any]:
    """The prompt-optimizer's submit body (always sync mode: it answers in one request).

    Example:
        >>> enhancer_body("a fox", "anime")["style"]
        'anime'
    """
    body = {ENHANCER_INPUT_FIELD: check_prompt(text), "mode": "image", "enable_sync_mode": True}
    return body if style is None else {**body, "style": check_style(style)}
