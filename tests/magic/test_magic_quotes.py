"""What is typed after %klein is what the emulator receives: quotes and JSON, in a real shell."""

from __future__ import annotations

import json

from klein_widget import Generation

from .conftest import Shell

SMALL = "-W 256 -H 256"


def _received(ipython: Shell) -> set[str]:
    """Every prompt the emulator was sent (its text-to-image tasks)."""
    tasks = ipython.emulator.emulator.tasks.values()
    return {task.request.prompt for task in tasks if task.request is not None}


def test_quotes_inside_a_prompt_reach_the_model(ipython: Shell) -> None:
    ran = ipython.run(f'sign = %klein a shop sign that says "OPEN" {SMALL} -s 31')
    assert ran.error is None
    sign = ipython.shell.user_ns["sign"]
    assert isinstance(sign, Generation)
    assert sign.prompt == 'a shop sign that says "OPEN"'
    assert 'a shop sign that says "OPEN"' in _received(ipython)


def test_one_quoted_string_is_the_prompt_without_its_quotes(ipython: Shell) -> None:
    ran = ipython.run(f'fox = %klein "a fox, at dusk" {SMALL} -s 32')
    assert ran.error is None
    assert ipython.shell.user_ns["fox"].prompt == "a fox, at dusk"


def test_a_json_prompt_reaches_the_model_as_written(ipython: Shell) -> None:
    prompt = json.dumps({"scene": "a fox in snow", "style": "watercolour", "seed_note": "{x|y}"})
    ran = ipython.run(f"%%klein {SMALL} -s 33\n{prompt}")
    assert ran.error is None
    assert len(ran.images) == 1  # one image: nothing in the JSON expanded into a grid
    assert prompt in _received(ipython)
    line = ipython.run(f"%klein {prompt} {SMALL} -s 34")
    assert line.error is None
    assert prompt in _received(ipython)
