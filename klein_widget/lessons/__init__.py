"""Teaching prompt engineering: `compare` grids, `PromptBuilder`, and `history` of the
gallery, for the notebooks in ``notebooks/``.
"""
