"""klein-widget: the FLUX.2 [klein] family (4B, 9B, edits) in Jupyter, on WaveSpeed or an emulator.

Example:
    >>> from klein_widget import KleinClient
    >>> gen = KleinClient().generate("a red fox", width=768, height=512, seed=42)  # doctest: +SKIP
    >>> gen.save("fox.png")  # doctest: +SKIP

In a notebook: ``%load_ext klein_widget`` then ``%klein a red fox``, or
``klein_widget.panel()``. Importing this package loads neither ipywidgets nor IPython, nor
the event loop, the gallery or the session: the clients, the session, its doors and the
widget pieces are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from klein_widget._version import __version__
from klein_widget.client._constants import DEFAULT_TIMEOUT, DOWNLOAD_GRACE
from klein_widget.client._exceptions import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BudgetExceededError,
    GenerationFailedError,
    GenerationTimeoutError,
    InvalidRequestError,
    KleinError,
    RateLimitError,
)
from klein_widget.client._generation import Generation
from klein_widget.client._ledger import Spend
from klein_widget.client._models import PRICE_PER_IMAGE, GenerationRequest, Prediction
from klein_widget.client._policy import PollSchedule, RetryPolicy
from klein_widget.client._run import Progress
from klein_widget.client.batch._pacing import RateLimit

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from klein_widget._connect import connect, resume, set_api_key, use_emulator, use_pack
    from klein_widget._session import Session, session
    from klein_widget.client._async_client import AsyncKleinClient
    from klein_widget.client._sync_client import KleinClient
    from klein_widget.lessons._compare import CompareResult, compare
    from klein_widget.lessons._history import history, load_params
    from klein_widget.lessons._prompts import PromptBuilder
    from klein_widget.lessons._variants import expand_variants
    from klein_widget.magic._magics import KleinMagics
    from klein_widget.store._gallery import Gallery
    from klein_widget.ui._grid import render_grid
    from klein_widget.widget._widget import KleinPanel, panel

# Imported when first touched (as httpx and anywidget do): the clients and the session load
# asyncio, the gallery SQLite, the widget IPython; `import klein_widget` loads none of them
# (tests/unit/test_package.py), so a script pays only for what it uses. The same modules and
# names as the imports for type checkers above, line for line.
_LAZY_FROM: dict[str, tuple[str, ...]] = {
    "klein_widget._connect": ("connect", "resume", "set_api_key", "use_emulator", "use_pack"),
    "klein_widget._session": ("Session", "session"),
    "klein_widget.client._async_client": ("AsyncKleinClient",),
    "klein_widget.client._sync_client": ("KleinClient",),
    "klein_widget.lessons._compare": ("CompareResult", "compare"),
    "klein_widget.lessons._history": ("history", "load_params"),
    "klein_widget.lessons._prompts": ("PromptBuilder",),
    "klein_widget.lessons._variants": ("expand_variants",),
    "klein_widget.magic._magics": ("KleinMagics",),
    "klein_widget.store._gallery": ("Gallery",),
    "klein_widget.ui._grid": ("render_grid",),
    "klein_widget.widget._widget": ("KleinPanel", "panel"),
}
_LAZY = {name: module for module, names in _LAZY_FROM.items() for name in names}

__all__ = [
    "DEFAULT_TIMEOUT",
    "DOWNLOAD_GRACE",
    "PRICE_PER_IMAGE",
    "APIConnectionError",
    "APIStatusError",
    "AsyncKleinClient",
    "AuthenticationError",
    "BudgetExceededError",
    "CompareResult",
    "Gallery",
    "Generation",
    "GenerationFailedError",
    "GenerationRequest",
    "GenerationTimeoutError",
    "InvalidRequestError",
    "KleinClient",
    "KleinError",
    "KleinMagics",
    "KleinPanel",
    "PollSchedule",
    "Prediction",
    "Progress",
    "PromptBuilder",
    "RateLimit",
    "RateLimitError",
    "RetryPolicy",
    "Session",
    "Spend",
    "__version__",
    "compare",
    "connect",
    "expand_variants",
    "history",
    "load_ipython_extension",
    "load_params",
    "panel",
    "render_grid",
    "resume",
    "session",
    "set_api_key",
    "use_emulator",
    "use_pack",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'klein_widget' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """``%load_ext klein_widget``: register ``%klein`` and ``%%klein``."""
    from klein_widget.magic._magics import KleinMagics

    ipython.register_magics(KleinMagics)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
