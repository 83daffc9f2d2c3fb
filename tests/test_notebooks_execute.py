"""Every chapter runs top to bottom in the ``quick`` profile, on a copy (the originals are never written).

    pytest -m notebooks

Each chapter gets a fresh kernel with PIXELCNN_PROFILE=quick; PIXELCNN_DATA (a folder with MNIST in
torchvision's layout) is passed through when set. Set PIXELCNN_NOTEBOOK_TIMEOUT to change the
per-cell timeout (seconds).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import run_chapters  # noqa: E402

pytestmark = pytest.mark.notebooks

CHAPTERS = run_chapters.chapter_notebooks()
TIMEOUT = int(os.environ.get("PIXELCNN_NOTEBOOK_TIMEOUT", run_chapters.DEFAULT_TIMEOUT["quick"]))


@pytest.fixture(scope="module")
def book_copy(tmp_path_factory):
    return run_chapters.copy_book(tmp_path_factory.mktemp("chapters"))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_in_quick_profile(chapter, book_copy):
    copy = book_copy / chapter.relative_to(run_chapters.BOOK)
    before = chapter.read_bytes()
    run_chapters.execute(copy, "quick", TIMEOUT)  # raises CellExecutionError on any failing cell
    assert chapter.read_bytes() == before, "executing the copy changed the original notebook"
    assert nbformat.read(copy, as_version=4).metadata["pixelcnn"]["profile"] == "quick"
