"""The emulator's prompt optimizer: deterministic, keeps the words, reads sensibly."""

from __future__ import annotations

from klein_widget.emulator._prompts import enhance_prompt


def test_keeps_the_text_first_and_adds_phrases() -> None:
    out = enhance_prompt("a red fox in the snow.")
    assert out.startswith("A red fox in the snow, ")
    assert out.endswith(".")
    assert ".." not in out
    assert len(out.split(", ")) >= 4


def test_deterministic_and_text_dependent() -> None:
    assert enhance_prompt("a cat") == enhance_prompt("a cat")
    assert enhance_prompt("  a   cat ") == enhance_prompt("a cat")
    outputs = {enhance_prompt(t) for t in ("a cat", "a dog", "a tree", "a boat", "a castle")}
    assert len(outputs) == 5


def test_does_not_add_lighting_when_the_prompt_sets_it() -> None:
    out = enhance_prompt("a harbour at sunset")
    assert " light" not in out.removeprefix("A harbour at sunset")


def test_style_and_mode() -> None:
    assert "anime" in enhance_prompt("a robot", style="anime")
    plain, video = enhance_prompt("a robot"), enhance_prompt("a robot", mode="video")
    motion = ("push-in", "pan", "tracking")
    assert any(m in video for m in motion)
    assert not any(m in plain for m in motion)
