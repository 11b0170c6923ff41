"""The HTML grid and the emphasis of differing words, with real emulator images."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

from klein_widget import GenerationFailedError, KleinClient, Prediction
from klein_widget.ui._grid import (
    GridHTML,
    Segment,
    highlight_differences,
    render_grid,
)
from klein_widget.ui._grid_cells import label_html


def emphasised(rows: list[list[Segment]]) -> list[list[str]]:
    return [[s.text for s in row if s.emphasised] for row in rows]


def test_words_added_to_the_common_part_are_emphasised() -> None:
    prompts = [
        "a red fox in the snow",
        "a red fox in the snow, oil painting",
        "A small red fox in the snow at night.",
    ]
    rows = highlight_differences(prompts)
    assert emphasised(rows) == [[], ["oil painting"], ["small", "at night."]]
    # The segments put back together are the prompts, spacing and all.
    assert ["".join(s.text for s in row) for row in rows] == prompts


def test_no_emphasis_for_one_prompt_or_identical_prompts() -> None:
    assert emphasised(highlight_differences(["a fox"])) == [[]]
    assert emphasised(highlight_differences(["a fox", "a fox"])) == [[], []]
    assert highlight_differences([]) == []


def test_completely_different_prompts_are_all_emphasised() -> None:
    assert emphasised(highlight_differences(["a cat", "two dogs"])) == [["a cat"], ["two dogs"]]


def test_labels_are_escaped_and_marked() -> None:
    html = label_html([Segment("<i>fox</i> "), Segment("& <script>", True)])
    assert html.startswith("&lt;i&gt;fox&lt;/i&gt; <mark")
    assert "&amp; &lt;script&gt;</mark>" in html
    assert "<script>" not in html


def test_a_row_of_generations_shows_thumbnails_with_seed_captions(client: KleinClient) -> None:
    gens = [client.generate("a red <fox>", width=512, height=384, seed=s) for s in (1, 2, 3)]
    html = render_grid([gens], title="a red <fox>", column_labels=[f"seed {s}" for s in (1, 2, 3)])
    assert isinstance(html, GridHTML)
    assert html._repr_html_() == str(html)
    assert repr(html).startswith("<GridHTML, ")
    assert html.count("<img ") == 3
    assert "a red &lt;fox&gt;" in html
    assert "<fox>" not in html
    for seed in (1, 2, 3):
        assert "<figcaption" in html
        assert f">seed {seed}</figcaption>" in html
    # Hover text carries the whole prompt, seed and size.
    assert 'title="a red &lt;fox&gt;\nseed 2 · 512x384"' in html
    # Thumbnails are small JPEGs, 256 px on the long side, in the image's aspect ratio.
    uris = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(uris) == 3
    thumb = Image.open(io.BytesIO(base64.b64decode(uris[0])))
    assert (thumb.format, thumb.size) == ("JPEG", (256, 192))
    assert "var(--jp-ui-font-color1" in html


def test_errors_waiting_cells_and_text_render_in_place(client: KleinClient) -> None:
    gen = client.generate("a fox", width=256, height=256, seed=5)
    failed = GenerationFailedError(
        "Task t1 failed: model <overloaded>",
        prediction=Prediction(id="t1", status="failed", error="model <overloaded>"),
    )
    html = render_grid(
        [[gen, failed], [None, "skipped"]],
        row_labels=["fox", [Segment("fox "), Segment("at night", True)]],
        column_labels=["seed 5", "seed 6"],
        thumbnail=64,
    )
    assert html.count("<img ") == 1
    assert 'role="alert"' in html
    assert "The generation failed on the server: model &lt;overloaded&gt;." in html
    assert "waiting…" in html
    assert "skipped" in html
    assert html.count('<th scope="row"') == 2
    assert html.count('<th scope="col"') == 2
    assert "<mark" in html
    assert "at night</mark>" in html
    uri = re.search(r'src="data:image/jpeg;base64,([^"]+)"', html)
    assert uri is not None
    assert Image.open(io.BytesIO(base64.b64decode(uri.group(1)))).size == (64, 64)


def test_ragged_rows_are_padded_and_label_counts_checked() -> None:
    html = render_grid([["a", "b"], ["c"]])
    assert html.count("<tr>") == 2
    assert html.count("<td ") == 4
    with pytest.raises(ValueError, match="row_labels has 1 labels for 2 rows"):
        render_grid([["a"], ["b"]], row_labels=["only one"])
    with pytest.raises(ValueError, match="column_labels has 3 labels for 2 columns"):
        render_grid([["a", "b"]], column_labels=["1", "2", "3"])
    with pytest.raises(ValueError, match="thumbnail must be at least 16 px"):
        render_grid([["a"]], thumbnail=8)
