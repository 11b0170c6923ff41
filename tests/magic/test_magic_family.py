"""%klein's family options, parsed: --model, --edit, --ref and --lora (no IPython needed).

Every mistake is one `MagicUsageError` naming what is allowed, raised by `parse_line`,
before anything could be uploaded or sent.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from klein_widget.cli._parser import build_parser, requested_loras
from klein_widget.client._family import MAX_LORAS, MAX_REFERENCES
from klein_widget.client._models import GenerationRequest
from klein_widget.magic._args import MagicUsageError, parse_line
from klein_widget.ui._family_text import lora_from_text, lora_text, weights_name
from klein_widget.ui._magic_line import format_magic
from klein_widget.ui._snippets import cli_snippet


@pytest.fixture
def pictures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Five small files in the working folder (names relative, as a user types them)."""
    monkeypatch.chdir(tmp_path)
    names = [f"ref-{i}.png" for i in range(5)]
    for name in names:
        (tmp_path / name).write_bytes(b"not read while parsing")
    return names


def refused(line: str) -> str:
    with pytest.raises(MagicUsageError) as caught:
        parse_line(line)
    return str(caught.value)


def test_model_9b_and_full_ids() -> None:
    assert parse_line("a fox --model 9b").model == "9b"
    assert parse_line("a fox --model 9B").model == "9b"
    assert parse_line("a fox").model == "4b"
    full = "wavespeed-ai/flux-2-klein-9b/text-to-image"
    assert parse_line(f"a fox --model {full}").model == "9b"


def test_an_unknown_model_names_the_known_ones() -> None:
    text = refused("a fox --model 12b")
    assert "--model" in text
    assert "'9b'" in text
    assert "12b" in text


def test_edit_last_keeps_the_size_and_takes_the_edit_model() -> None:
    args = parse_line('--edit last "make it night" -s 7')
    assert (args.prompt, args.images, args.model, args.seed) == (
        "make it night",
        ("last",),
        "4b-edit",
        7,
    )
    assert (args.width, args.height) == (None, None)
    assert args.edit
    assert not args.grid
    nine = parse_line("make it night --edit last --model 9b -W 768 -H 512")
    assert (nine.model, nine.width, nine.height) == ("9b-edit", 768, 512)


def test_edit_takes_a_task_id_a_file_or_a_url(pictures: list[str]) -> None:
    assert parse_line("night --edit 3f2a9c0d").images == ("3f2a9c0d",)
    assert parse_line(f"night --edit {pictures[0]}").images == (pictures[0],)
    url = "https://example.com/cat.png"
    assert parse_line(f"night --edit {url}").images == (url,)


def test_refs_repeat_in_order_after_edit(pictures: list[str]) -> None:
    line = f"put the cat from image 2 on the sofa in image 1 --edit last --ref {pictures[0]}"
    line += f" --ref {pictures[1]} --ref {pictures[2]}"
    assert parse_line(line).images == ("last", *pictures[:3])
    # --ref alone is an edit too
    assert parse_line(f"make it night --ref {pictures[0]}").model == "4b-edit"


def test_a_fifth_image_is_refused(pictures: list[str]) -> None:
    refs = " ".join(f"--ref {name}" for name in pictures[:MAX_REFERENCES])
    assert len(parse_line(f"x {refs}").images) == MAX_REFERENCES
    text = refused(f"x --edit last {refs}")
    assert f"at most {MAX_REFERENCES}" in text
    assert "5 images" in text


def test_a_missing_file_is_refused_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = refused("night --ref sofa.png")
    assert "no such file" in text
    assert str(tmp_path / "sofa.png") in text
    assert "no such file" in refused("night --edit photos/cat.jpg")
    assert "no such file" in refused("night --ref somename")  # --ref is always a file or URL


def test_lora_url_and_scale() -> None:
    args = parse_line("a fox --lora owner/watercolour:0.8 --lora https://x.test/ink.safetensors")
    assert args.loras == (("owner/watercolour", 0.8), ("https://x.test/ink.safetensors", 1.0))
    assert args.model == "4b-lora"


@pytest.mark.parametrize("scale", ["2.5", "-1", "abc", "nan", ""])
def test_a_bad_lora_scale_is_refused(scale: str) -> None:
    text = refused(f"a fox --lora owner/style:{scale}")
    assert "from 0 to 2" in text


def test_too_many_loras_are_refused() -> None:
    loras = " ".join(f"--lora owner/style{i}" for i in range(MAX_LORAS + 1))
    assert f"at most {MAX_LORAS}" in refused(f"a fox {loras}")


def test_lora_with_9b_or_an_edit_is_refused() -> None:
    text = refused("a fox --model 9b --lora owner/style")
    assert "4B model only" in text
    assert "9B" in text
    assert "take no LoRAs" in refused("night --edit last --lora owner/style")


def test_an_edit_model_without_an_image_is_refused() -> None:
    assert "--edit last" in refused("night --model 9b-edit")


@pytest.mark.parametrize("extra", ["-n 3", "-s 1,2", "{red|blue}"])
def test_an_edit_makes_one_image_and_a_lora_may_make_a_grid(extra: str) -> None:
    assert "makes one image" in refused(f"a {extra} fox --edit last")
    args = parse_line(f"a {extra} fox --lora owner/style:0.5")
    assert args.grid
    assert (args.model, args.loras) == ("4b-lora", (("owner/style", 0.5),))


def test_family_options_need_a_prompt() -> None:
    assert "--model" in refused("--model 9b")
    assert "--edit" in refused("--edit last --panel a fox")


def test_option_values_fill_in_names(pictures: list[str]) -> None:
    args = parse_line(
        "night --edit {src} --ref {refs[0]} --model {m}",
        namespace={"src": "last", "refs": pictures, "m": "9b"},
    )
    assert (args.images, args.model) == (("last", pictures[0]), "9b-edit")


@pytest.mark.parametrize(
    "request_",
    [
        GenerationRequest("a harbour", 768, 512, seed=7, model="9b"),
        GenerationRequest(
            "a fox",
            seed=3,
            model="4b-lora",
            loras=(("owner/ink", 0.35), ("https://x.test/a.safetensors", 1.0)),
        ),
        GenerationRequest("a {red} fox", 512, 512, seed=1, sync_mode=True, model="9b"),
    ],
)
def test_the_magic_and_cli_snippets_read_back_as_the_request(request_: GenerationRequest) -> None:
    assert parse_line(format_magic(request_)).request() == request_
    args = build_parser().parse_args(shlex.split(cli_snippet(request_))[1:])
    assert (args.model, requested_loras(args)) == (weights_name(request_) or "4b", request_.loras)


def test_lora_text_reads_back_every_scale() -> None:
    for scale in (0.0, 0.1, 1 / 3, 1.0, 2.0):
        assert lora_from_text(lora_text(("owner/style", scale))) == ("owner/style", scale)
