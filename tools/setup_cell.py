#!/usr/bin/env python3
"""The first code cell of every chapter: the one place that knows how a chapter gets its library.

On Colab a chapter is opened as a single .ipynb, so ``pixelcnn_lib`` is not importable until this cell
installs it (pip, from the book's repository as named in ``_config.yml``) and turns on Colab's custom
widget manager (needed for ipywidgets 8 / anywidget). Everywhere else the cell does nothing.

    python tools/setup_cell.py                      # print the cell for the configured repository
    python tools/setup_cell.py --apply book/0*.ipynb  # make it the first code cell of these notebooks

``tests/test_book_structure.py`` checks that every chapter starts with exactly this text.
"""
from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"

SETUP_CELL_TEMPLATE = '''\
# Setup: on Google Colab, install this book's library and enable its widgets. Elsewhere: does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "git+{url}"],
        check=True,
    )
    from google.colab import output

    output.enable_custom_widget_manager()'''


def load_config(path: Path = CONFIG) -> dict:
    import yaml

    return yaml.safe_load(path.read_text())


def repository_url(path: Path = CONFIG) -> str:
    """The book's repository URL, as written in ``_config.yml`` (``repository.url``)."""
    return load_config(path)["repository"]["url"]


def setup_cell_source(url: str | None = None) -> str:
    """The exact source of a chapter's first code cell, installing from ``git+<url>``."""
    return SETUP_CELL_TEMPLATE.format(url=url if url is not None else repository_url())


def apply(notebook: Path, source: str) -> str:
    """Make ``source`` the first code cell of ``notebook``: replace an old setup cell, or insert one."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if code and nb.cells[code[0]].source.startswith(source.splitlines()[0]):
        if nb.cells[code[0]].source == source:
            return "unchanged"
        nb.cells[code[0]].source = source
        action = "replaced"
    else:
        # Right after the title cell if there is one, else at the top.
        at = code[0] if code else len(nb.cells)
        at = min(at, 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0)
        nb.cells.insert(at, nbformat.v4.new_code_cell(source))
        action = "inserted"
    nbformat.write(nb, notebook)
    return action


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print or apply the chapters' setup cell.")
    parser.add_argument("--url", help="repository URL (default: repository.url in _config.yml)")
    parser.add_argument("--apply", nargs="+", type=Path, metavar="NOTEBOOK",
                        help="make the setup cell the first code cell of these notebooks")
    args = parser.parse_args(argv)
    source = setup_cell_source(args.url)
    if not args.apply:
        print(source)
        return
    for nb in args.apply:
        print(f"{nb}: {apply(nb, source)}")


if __name__ == "__main__":
    main()
