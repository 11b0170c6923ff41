"""The panel (`KleinPanel`, `klein_widget.panel()`): prompt, size, seed, status, image,
snippets, history and spend in one widget.

The folder is ``widget``, not ``panel``: a subpackage named ``panel`` would shadow the
public ``klein_widget.panel()`` function once imported.
"""
