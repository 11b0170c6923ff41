"""%klein's family options in a real IPython shell, against the emulator over loopback:
--model 9b, --edit last / a task id / a file, --ref, --lora, and the mistakes that send
nothing. The %klein snippet of an edit runs back to the same image."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from PIL import Image

import klein_widget
from klein_widget import Generation
from klein_widget.client._family import resolve_model
from klein_widget.ui._magic_line import format_magic
from tests.magic.conftest import Shell

SMALL = "-W 256 -H 256"


def png(path: Path, size: tuple[int, int], colour: str = "navy") -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_edit_a_url_keeps_its_size_and_takes_the_edit_model(ipython: Shell) -> None:
    first = ipython.run("%klein a red fox -W 512 -H 256 -s 3").value
    assert isinstance(first, Generation)
    url = f"{ipython.emulator.base_url}/emulator/images/{first.task_id}/0.png"  # its output
    ran = ipython.run(f'%klein --edit {url} "make it night" -s 4 --model 9b')
    assert ran.error is None, ran.error
    night = ran.value
    assert isinstance(night, Generation)
    assert (night.model, night.images) == ("9b-edit", (url,))
    with Image.open(io.BytesIO(night.image)) as image:
        assert image.size == (512, 256)  # the reference's size: no size was sent
    assert submits(ipython, "9b-edit") >= 1
    assert ran.images == [night.image]
    line = format_magic(night.request)
    assert line == f'%klein "make it night" -s 4 --model 9b --edit {url}'


def submits(shell: Shell, model: str) -> int:
    return shell.emulator.emulator.count("POST", resolve_model(model).path)


def uploads(shell: Shell) -> int:
    return shell.emulator.emulator.count("POST", "/api/v3/media/uploads")


def test_model_9b_goes_to_the_9b_endpoint(ipython: Shell) -> None:
    before = submits(ipython, "9b")
    ran = ipython.run(f"%klein a harbour at dawn {SMALL} -s 7 --model 9b")
    assert ran.error is None
    gen = ran.value
    assert isinstance(gen, Generation)
    assert (gen.model, gen.seed, gen.size) == ("9b", 7, (256, 256))
    assert submits(ipython, "9b") == before + 1
    assert "--model 9b" in format_magic(gen.request)


def test_lora_goes_to_the_lora_endpoint(ipython: Shell) -> None:
    before = submits(ipython, "4b-lora")
    ran = ipython.run(f"%klein a fox {SMALL} -s 9 --lora owner/watercolour:0.8")
    assert ran.error is None, ran.error
    gen = ran.value
    assert isinstance(gen, Generation)
    assert gen.loras == (("owner/watercolour", 0.8),)
    assert submits(ipython, "4b-lora") == before + 1
    assert "--lora owner/watercolour:0.8" in format_magic(gen.request)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("x --edit last --ref a.png --ref a.png --ref a.png --ref a.png", "at most 4"),
        ("x --ref missing.png", "no such file"),
        ("x --lora owner/style:3", "from 0 to 2"),
        ("x --lora owner/style --model 9b", "4B model only"),
        ("x --edit nosuchtaskid", "no image in the gallery"),
    ],
)
def test_mistakes_are_one_usage_line_and_send_nothing(
    ipython: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    png(tmp_path / "a.png", (256, 256))
    ipython.run(f"%klein a seed image {SMALL} -s 1")  # so that `last` exists
    ran = ipython.run(f"%klein {line}")
    assert isinstance(ran.error, UsageError)
    assert words in str(ran.error)
    assert ran.sent == 0


def test_edit_last_uploads_the_last_image_and_keeps_its_size(ipython: Shell) -> None:
    first = ipython.run("%klein a red fox -W 512 -H 256 -s 3").value
    assert isinstance(first, Generation)
    sent_uploads = uploads(ipython)
    ran = ipython.run('%klein --edit last "make it night" -s 4')
    assert ran.error is None, ran.error
    night = ran.value
    assert isinstance(night, Generation)
    assert night.model == "4b-edit"
    assert night.references == (hashlib.sha256(first.image).hexdigest(),)
    with Image.open(io.BytesIO(night.image)) as image:
        assert image.size == (512, 256)  # the reference's size: no size was sent
    assert uploads(ipython) == sent_uploads + 1
    assert ran.images == [night.image]
    assert klein_widget.session().history[-1] == night


def test_edit_with_refs_in_a_cell_and_a_gallery_task_id(
    ipython: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = ipython.run(f"%klein a grey cat {SMALL} -s 5").value
    assert isinstance(first, Generation)
    png(tmp_path / "sofa.png", (320, 256), "olive")
    ran = ipython.run(
        f"%%klein --edit {first.task_id} --ref sofa.png --model 9b -s 6\n"
        "put the cat from image 1 on the sofa in image 2"
    )
    assert ran.error is None, ran.error
    gen = ran.value
    assert isinstance(gen, Generation)
    assert gen.model == "9b-edit"
    assert len(gen.references) == 2
    assert gen.references[1] == hashlib.sha256((tmp_path / "sofa.png").read_bytes()).hexdigest()


def test_the_magic_snippet_of_an_edit_makes_it_again_free(
    ipython: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fox = ipython.run(f"%klein a red fox {SMALL} -s 12").value
    assert isinstance(fox, Generation)
    night = ipython.run('%klein --edit last "make it night" -s 13').value
    assert isinstance(night, Generation)
    line = format_magic(night.request)
    assert line.startswith('%klein "make it night" -s 13 --edit reference-1.png')
    (tmp_path / "reference-1.png").write_bytes(fox.image)  # the file the snippet names
    before = submits(ipython, "4b-edit")

    again = ipython.run(line)
    assert again.error is None, again.error
    assert again.value.image == night.image
    assert again.value.request.key == night.request.key
    assert again.value.from_gallery  # the same recipe: free
    assert submits(ipython, "4b-edit") == before


def test_a_grid_on_9b_sends_each_cell_to_9b_and_marks_the_price(ipython: Shell) -> None:
    before = submits(ipython, "9b")
    ran = ipython.run(f"%klein a lighthouse {SMALL} -s 20 -n 2 --model 9b")
    assert ran.error is None, ran.error
    assert [g.model for g in ran.value.generations] == ["9b", "9b"]
    assert submits(ipython, "9b") == before + 2
    assert ran.texts[-1].endswith("price unconfirmed")


def test_a_grid_with_a_lora_styles_every_cell(ipython: Shell) -> None:
    before = submits(ipython, "4b-lora")
    ran = ipython.run(f"%klein a {{red|blue}} fox {SMALL} -s 30 --lora owner/ink:0.5")
    assert ran.error is None, ran.error
    made = ran.value.generations
    assert [(g.model, g.loras) for g in made] == [("4b-lora", (("owner/ink", 0.5),))] * 2
    assert submits(ipython, "4b-lora") == before + 2
