"""Parse a Python file for the tests that read the package's source, safe beside threads.

CPython 3.11 up to 3.11.7 (this machine's 3.11.7 among them) keeps the AST constructor's
recursion depth in state shared by every thread (CPython gh-106905, fixed in 3.11.8). If
the garbage collector runs in the middle of `ast.parse` and a finaliser it calls hands
the GIL to a thread that parses too (a test's server formatting a traceback: 3.11's
traceback carets call `ast.parse`), or parses itself, the first parse fails with
"SystemError: AST constructor recursion depth mismatch". In the suite that was
`test_imports_point_one_way`, while another test's uvicorn shut down in the same process.
The parse allocates thousands of nodes, so a collection in it is likely; with the
collector paused it runs no Python code, and so no other parse, before it ends.

Example:
    >>> type(parse(Path(__file__)))
    <class 'ast.Module'>
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path

__all__ = ["parse"]


def parse(path: Path) -> ast.Module:
    """The module at ``path``, parsed with the garbage collector paused."""
    source = path.read_text()
    collecting = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename=str(path))
    finally:
        if collecting:
            gc.enable()
