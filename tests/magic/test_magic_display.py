"""What every door shows, in a real IPython shell on the loopback emulator (issue 23 items 4,
6, 7 and 10; issue 28 item 8): ``%klein`` images bounded like the panel's, NSFW-flagged
images hidden behind "Show / hide" wherever images are shown, alt text that says what
the picture is, failed tasks refunded and not counted as images.
"""

from __future__ import annotations

import io
import re

from PIL import Image

import klein_widget
from klein_widget.client._models import GenerationRequest
from klein_widget.lessons._compare import compare
from klein_widget.ui._figure import NSFW_NOTE
from klein_widget.ui._grid_image import _cell_image
from klein_widget.widget._fallback import fallback_html
from tests.magic.conftest import Shell

SMALL = "-W 256 -H 256"
GATE = '<details class="klein-nsfw">'


def test_a_single_image_is_bounded_and_keeps_its_shape(ipython: Shell) -> None:
    ran = ipython.run("%klein a tall tower -W 864 -H 1536 -s 1")
    assert ran.error is None
    [shown] = [h for h in ran.html if 'class="klein-image"' in h]
    assert "max-height: 60vh" in shown
    assert "max-width: 100%" in shown
    assert 'width="864" height="1536"' in shown  # the shape, for the browser to keep
    assert "width: auto; height: auto" in shown
    assert 'alt="emulator stand-in for: a tall tower"' in shown
    assert ran.images == [ran.value.image]


def test_flagged_images_are_hidden_in_a_single_image_and_a_grid(ipython: Shell) -> None:
    ipython.emulator.emulator.script("task", "nsfw")
    one = ipython.run(f"%klein a kitten {SMALL} -s 31")
    assert one.error is None
    assert one.value.nsfw
    [shown] = [h for h in one.html if 'class="klein-image"' in h]
    assert shown.count(GATE) == 1
    assert NSFW_NOTE in shown
    assert shown.index(GATE) < shown.index("<img")  # the picture is inside the gate

    ipython.emulator.emulator.script("task", "nsfw", "ok", "nsfw", "ok")
    grid = ipython.run(f"%klein a kitten {SMALL} -n 4 -s 40")
    assert grid.error is None
    flagged = sum(g.nsfw for g in grid.value)
    assert flagged == 2
    html = [h for h in grid.html if "klein-grid" in h][-1]
    assert html.count(GATE) == flagged
    assert html.count("<img") == 4


def test_compare_hides_flagged_images_in_html_and_blurs_them_in_the_png(
    ipython: Shell,
) -> None:
    ipython.emulator.emulator.script("task", "nsfw")
    result = compare(["a kitten on a sofa"], seeds=[51, 52], width=256, height=256)
    assert [g.nsfw for g in result.generations].count(True) == 1
    html = str(result.grid())
    assert html.count(GATE) == 1
    assert html.count("<img") == 2
    flagged = next(g for g in result.generations if g.nsfw)
    # The slide PNG draws the flagged cell blurred beyond recognition: far less detail
    # between neighbouring pixels than the image as made.
    assert result.png(thumbnail=64)[:4] == b"\x89PNG"
    drawn = _cell_image(flagged, 64)
    assert drawn is not None
    blurred = Image.open(io.BytesIO(drawn)).convert("L")
    sharp = Image.open(io.BytesIO(flagged.image)).convert("L").resize(blurred.size)
    assert _edges(blurred) * 3 < _edges(sharp)


def _edges(image: Image.Image) -> int:
    """Sum of differences between horizontal neighbours: how much detail is left."""
    pixels = image.load()
    assert pixels is not None
    width, height = image.size
    return sum(
        abs(int(pixels[x, y]) - int(pixels[x + 1, y]))  # type: ignore[arg-type]
        for y in range(height)
        for x in range(width - 1)
    )


def test_the_saved_notebook_fallback_hides_a_flagged_image() -> None:
    request = GenerationRequest("a kitten", 256, 256, seed=3)
    image = Image.new("RGB", (256, 256), (200, 40, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    html = fallback_html(request, out.getvalue(), nsfw=True, alt="emulator stand-in for: a kitten")
    assert html.count(GATE) == 1
    assert html.index(GATE) < html.index("<img")
    assert 'alt="emulator stand-in for: a kitten"' in html
    assert "font-family: var(--jp-code-font-family" in fallback_html(request, python="x = 1")


def test_grid_highlights_have_a_cue_beyond_colour(ipython: Shell) -> None:
    ran = ipython.run("grid = %klein a {red|blue} fox -s 60 " + SMALL)
    assert ran.error is None
    [html] = [h for h in ran.html if "<mark" in h]
    marks = re.findall(r'<mark style="([^"]+)"', html)
    assert marks
    assert all("text-decoration: underline" in m and "font-weight: 700" in m for m in marks)
    assert all(re.search(r'alt="emulator stand-in for: a (red|blue) fox"', html) for _ in marks)
    assert "CompareResult(" not in ran.stdout


def test_a_failed_task_is_refunded_not_counted_as_an_image(ipython: Shell) -> None:
    before = klein_widget.session().spend
    ipython.emulator.emulator.script("task", "fail")
    ran = ipython.run(f"%klein a fox that fails {SMALL} -s 70")
    assert ran.error is not None
    after = klein_widget.session().spend
    assert after.images == before.images
    assert after.mills == before.mills
    assert after.refunded == before.refunded + 1


def test_an_enhanced_grid_counts_the_enhancer(ipython: Shell) -> None:
    ran = ipython.run(f"%klein a fox {SMALL} -n 2 -s 80 --enhance")
    assert ran.error is None
    assert ran.texts[-1].endswith("· prompt enhanced $0.001 simulated · $0.017 simulated in all")
