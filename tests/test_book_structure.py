"""The book's wiring: table of contents, self-hosting, and honest committed outputs.

Fast (reads files only), so it runs with the library tests. Launch links and the Colab setup cell:
tests/test_colab_links.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import run_chapters  # noqa: E402
import setup_cell  # noqa: E402

CONFIG = setup_cell.load_config()
PAGES = run_chapters.toc_files()
CHAPTERS = run_chapters.chapter_notebooks()


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def read(path: Path):
    return nbformat.read(path, as_version=4)


def test_toc_lists_the_chapters():
    assert [rel(p) for p in PAGES] == [
        "book/intro.md",
        "book/01_chain_rule.ipynb",
        "book/02_masks.ipynb",
        "book/03_blind_spot.ipynb",
        "book/04_two_stacks.ipynb",
        "book/05_gating.ipynb",
        "book/06_full_model.ipynb",
        "book/07_sampling_fast.ipynb",
        "book/08_whats_next.md",
    ]


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_toc_page_exists(page):
    assert page.is_file(), f"{rel(page)} is listed in _toc.yml but does not exist"


def test_book_never_executes_and_is_self_hosted():
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    sphinx = CONFIG["sphinx"]["config"]
    assert "://" not in sphinx["mathjax_path"]
    assert sphinx["nb_ipywidgets_js"] and not any("://" in js for js in sphinx["nb_ipywidgets_js"])
    # Jupyter Book injects every .js under the static paths into every page as soon as a top-level
    # _static/ exists, which breaks require.js for the widgets. Keep static files elsewhere.
    assert not (ROOT / "_static").exists(), "use another html_static_path folder than _static/"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=rel)
def test_committed_outputs_match_the_code(chapter):
    reason = run_chapters.stale_reason(read(chapter))
    assert reason is None, (
        f"{rel(chapter)}: {reason}. Re-run: python tools/run_chapters.py --profile cpu {rel(chapter)}")


def test_stale_outputs_are_detected():
    """The check itself can fail: edit a cell of an executed notebook and it must notice."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", execution_count=1)])
    nb.metadata["pixelcnn"] = {"code_hash": run_chapters.code_hash(nb), "profile": "cpu"}
    assert run_chapters.stale_reason(nb) is None
    nb.cells[0].source = "x = 2"
    assert "code changed" in run_chapters.stale_reason(nb)
    del nb.metadata["pixelcnn"]
    assert "never executed" in run_chapters.stale_reason(nb)


def echoed_strings(nb) -> list[str]:
    """Cells whose last expression's value (a quoted string, e.g. a stray glue() result) is shown."""
    return [out.data["text/plain"] for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.output_type == "execute_result"
            and out.get("data", {}).get("text/plain", "")[:1] in {"'", '"'}]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=rel)
def test_no_cell_echoes_a_bare_string(chapter):
    """A number glued into the prose must not also appear as a stray '0.1496' under its cell."""
    echoed = echoed_strings(read(chapter))
    assert not echoed, f"{rel(chapter)}: cells echo {echoed}; end them with `;` or `_ = ...`"


def test_echoed_strings_are_found():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("'x'", outputs=[
        nbformat.v4.new_output("execute_result", {"text/plain": "'0.1496'"}, execution_count=1)])])
    assert echoed_strings(nb) == ["'0.1496'"]
