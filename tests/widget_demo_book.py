#!/usr/bin/env python3
"""Build a one-page scratch book that shows every widget (MaskDesigner included), configured like the real book
(same vendored JavaScript, same `nb_ipywidgets_js`), to test the widgets in a browser before
any chapter uses them:

    python tests/widget_demo_book.py /tmp/pxw-book     # prints the html folder
    PIXELCNN_WIDGET_DEMO=/tmp/pxw-book pytest tests/test_widgets_browser.py  # builds it itself

The notebook is executed with nbclient (widget state stored, as tools/run_chapters.py does).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]

# The trained views: tests/test_widgets_browser.py runs this code too and compares the saved maps.
TRAINED = """\
import torch
from pixelcnn_lib import GatedPixelCNN, PixelCNN
from pixelcnn_lib.widgets import TrainedFieldView
torch.manual_seed(0)
views = [
    TrainedFieldView(PixelCNN(1, 4, 8, 3), torch.randint(0, 4, (1, 8, 9)),
                     title="An untrained 3-layer PixelCNN on a random image."),
    TrainedFieldView(GatedPixelCNN(3, 4, 8, 3, causal_kernel_size=5, dilations=[1, 2]),
                     torch.randint(0, 4, (3, 7, 8)), channel=1, stride=2,
                     title="An untrained gated model, RGB, green channel, every other pixel."),
]"""

CELLS = [
    "from pixelcnn_lib.widgets import MaskExplorer, ReceptiveFieldExplorer\n"
    "MaskExplorer(kernel_size=5, mask_type='A', rgb=True)",
    "w = ReceptiveFieldExplorer(arch='masked', n_layers=3)\nw",
    "ReceptiveFieldExplorer(arch='gated', n_layers=4, causal_kernel_size=5, dilation_cycle=[1, 2],\n"
    "                       image_size=(9, 11), n_channels=3, channel=1)",
    "ReceptiveFieldExplorer(arch='two_stacks', n_layers=2, kernel_size=5, image_size=(1, 7), target=(0, 3))",
    TRAINED + "\nviews[0]",
    "views[1]",
    "from pixelcnn_lib.widgets import MaskDesigner\nMaskDesigner(kernel_size=3, preset='A', n_layers=3)",
    "MaskDesigner(kernel_size=5, preset='B', rgb=True, n_layers=2,\n"
    "             image_size=(6, 7), target=(3, 3), channel=1)",
]


def build(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    book_cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = dict(book_cfg["sphinx"]["config"])
    vendor = dest / "_vendor"
    if vendor.exists():
        shutil.rmtree(vendor)
    shutil.copytree(ROOT / "book" / "_vendor", vendor)
    for name, folder in book_cfg["sphinx"].get("local_extensions", {}).items():  # next to the config
        (dest / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / folder / f"{name}.py", dest / folder)
    sphinx["html_static_path"] = ["_vendor"]
    for key in [k for k in sphinx if k.startswith("bibtex_")]:  # no bibliography here
        sphinx.pop(key)
    shutil.copy2(ROOT / "book" / "images" / "favicon.svg", dest / "favicon.svg")  # else the browser logs a 404
    cfg = {"title": "Widget demo", "only_build_toc_files": True, "execute": {"execute_notebooks": "off"},
           "exclude_patterns": ["_build", "_vendor", ".*"], "html": {"favicon": "favicon.svg"},
           "sphinx": {"config": sphinx,  # the book's own HTML fixes too (tools/sphinx_local.py)
                      "local_extensions": book_cfg["sphinx"].get("local_extensions", {})}}
    (dest / "_config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))  # order matters: require.js first
    # The notebook sits in book/, as the chapters do, so the vendored scripts load from a sub-folder page.
    (dest / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: book/widgets\n")
    (dest / "intro.md").write_text("# Widget demo\n\nNo widgets on this page.\n")
    nb = nbformat.v4.new_notebook()
    # Math on the same page, as in the chapters: MathJax and require.js must both work there.
    nb.cells = [nbformat.v4.new_markdown_cell("# Widgets\n\nThe chain rule, $p(x) = \\prod_i p(x_i \\mid x_{<i})$:\n\n"
                                              "$$\\log p(x) = \\sum_i \\log p(x_i \\mid x_{<i})$$")]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (dest / "book").mkdir(exist_ok=True)
    sys.path.insert(0, str(ROOT / "tools"))
    from run_chapters import stamping_ipython_dir  # figures stamped as in the chapters' kernels
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(dest / "book")}}).execute(
        env={**os.environ, "IPYTHONDIR": str(stamping_ipython_dir())})
    nbformat.write(nb, dest / "book" / "widgets.ipynb")
    subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(dest), "-W", "-n", "--keep-going", "-q"],
                   check=True)
    return dest / "_build" / "html"


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/pxw-book").resolve()))
