"""The book's wiring: table of contents, launch buttons, setup cells, and honest committed outputs.

Fast (reads files only), so it runs with the library tests.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import run_chapters  # noqa: E402
import setup_cell  # noqa: E402

CONFIG = setup_cell.load_config()
REPO_URL = CONFIG["repository"]["url"]
PAGES = run_chapters.toc_files()
CHAPTERS = run_chapters.chapter_notebooks()
PLACEHOLDER_LINE = "This chapter is being written."


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def read(path: Path):
    return nbformat.read(path, as_version=4)


def is_placeholder(nb) -> bool:
    return not any(c.cell_type == "code" for c in nb.cells) and any(
        PLACEHOLDER_LINE in c.source for c in nb.cells if c.cell_type == "markdown")


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


def test_colab_launch_buttons_configured():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    repo = CONFIG["repository"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo["url"]), repo["url"]
    assert repo["branch"] == "main"
    # "" makes Colab links .../blob/main/book/NN.ipynb; "." would make a broken ./book/... link.
    assert repo["path_to_book"] == ""


def test_book_never_executes_and_is_self_hosted():
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    sphinx = CONFIG["sphinx"]["config"]
    assert "://" not in sphinx["mathjax_path"]
    assert sphinx["nb_ipywidgets_js"] and not any("://" in js for js in sphinx["nb_ipywidgets_js"])
    # Jupyter Book injects every .js under the static paths into every page as soon as a top-level
    # _static/ exists, which breaks require.js for the widgets. Keep static files elsewhere.
    assert not (ROOT / "_static").exists(), "use another html_static_path folder than _static/"


def project_files(suffixes=(".md", ".ipynb", ".py", ".yml", ".toml", ".cfg")):
    """The project's own text files (no hidden folders, venvs, builds or vendored JS)."""
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_build", "_vendor", "node_modules"))]
        yield from (Path(folder) / f for f in files if f.endswith(suffixes))


def test_colab_url_lives_only_in_config():
    elsewhere = [rel(p) for p in project_files()
                 if p.name != "_config.yml" and p != Path(__file__).resolve()
                 and "colab.research.google.com" in p.read_text(errors="ignore")]
    assert not elsewhere, f"the Colab URL belongs in _config.yml only, found in {elsewhere}"


def test_setup_cell_installs_from_the_configured_repository():
    source = setup_cell.setup_cell_source(REPO_URL)
    assert f'"git+{REPO_URL}"' in source
    assert 'if "google.colab" in sys.modules:' in source
    assert "output.enable_custom_widget_manager()" in source
    compile(source, "<setup cell>", "exec")  # plain Python: no IPython magics


def test_setup_cell_is_harmless_outside_colab():
    namespace: dict = {}
    exec(setup_cell.setup_cell_source(REPO_URL), namespace)  # must not install or import anything
    assert "google.colab" not in sys.modules


def test_setup_cell_apply(tmp_path):
    path = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
                                         nbformat.v4.new_code_cell("import torch")])
    nbformat.write(nb, path)
    cell = setup_cell.setup_cell_source(REPO_URL)
    assert setup_cell.apply(path, cell) == "inserted"
    assert [c.source for c in read(path).cells] == ["# Title", cell, "import torch"]
    assert setup_cell.apply(path, cell) == "unchanged"
    assert setup_cell.apply(path, setup_cell.setup_cell_source("https://example.org/x")) == "replaced"
    assert len(read(path).cells) == 3


@pytest.mark.parametrize("chapter", CHAPTERS, ids=rel)
def test_chapter_starts_with_the_setup_cell(chapter):
    nb = read(chapter)
    if is_placeholder(nb):
        pytest.skip(f"{rel(chapter)} is still a placeholder")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{rel(chapter)} has no code cell"
    first = code[0].source
    urls = re.findall(r"git\+(\S+?)[\"'\s]", first)
    assert urls == [REPO_URL], (
        f"{rel(chapter)}: its first code cell must install from git+{REPO_URL} (found {urls})")
    assert first == setup_cell.setup_cell_source(REPO_URL), (
        f"{rel(chapter)}: its first code cell is not the setup cell; "
        f"run: python tools/setup_cell.py --apply {rel(chapter)}")


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
