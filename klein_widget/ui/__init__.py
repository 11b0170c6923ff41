"""Pure helpers shared by every door (panel, magic, lessons, CLI).

- `_text`: status and error lines in words; `_snippets`: code that reproduces an image
  (Python, ``%klein``, curl, CLI), and the ``%klein`` line written from a request.
- `_grid`: labelled HTML grids of images; `_progress`: batch progress bars, and asking.

Imports the client only (tested); ipywidgets only lazily, inside a kernel.
"""
