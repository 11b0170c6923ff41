"""The lessons' runs, shared by the notebook tests of one pytest process (a kernel per
lesson is the slow part)."""

from __future__ import annotations

import pytest

from tests.notebooks.test_notebooks import LessonRuns


@pytest.fixture(scope="session")
def lessons(tmp_path_factory: pytest.TempPathFactory) -> LessonRuns:
    """Each lesson run once, on first request, in its own folder with its own gallery."""
    return LessonRuns(tmp_path_factory)
