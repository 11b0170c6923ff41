"""Both clients list their arguments, typed and documented (no ``**options``), as
openai-python's clients do, so type checkers and IDEs see every option."""

from __future__ import annotations

import inspect

import pytest

from klein_widget import AsyncKleinClient, KleinClient


@pytest.mark.parametrize("cls", [KleinClient, AsyncKleinClient])
def test_every_constructor_argument_is_named_typed_and_documented(cls: type) -> None:
    parameters = list(inspect.signature(cls).parameters.values())
    assert [p for p in parameters if p.kind is inspect.Parameter.VAR_KEYWORD] == []
    assert [p.name for p in parameters if p.annotation is inspect.Parameter.empty] == []
    documented = inspect.getdoc(cls) or ""
    assert [p.name for p in parameters if f"{p.name}:" not in documented] == []


def test_an_unknown_option_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="timout"):
        KleinClient("k", "http://127.0.0.1:9", timout=5)  # type: ignore[call-arg]
