"""Pure helpers shared by every door (panel, magic, lessons, CLI).

- `_text`: status and error lines in words; `_snippets`: code that reproduces an image
  (Python, ``%klein``, curl, CLI), and the ``%klein`` line written from a request.
- `_sizes`: the aspect presets and the one rule from an aspect to a size; checking a
  width, height or seed by `GenerationRequest`'s rules before there is a prompt.
- `_magic_options`: the ``%klein`` options, declared once (parser, help, snippets).
- `_images`: thumbnails, one function and one bounded cache, safe against bad bytes.
- `_grid`: labelled HTML grids of images; `_progress`: batch progress bars, and asking.

Imports the client only (tested); ipywidgets only lazily, inside a kernel.
"""
