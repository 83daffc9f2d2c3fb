"""Each check of tests/page_checks.py can fail: a tiny book, built with the real book's Sphinx
configuration, has one page per defect (the intro's old display formula that swallowed the next
sentence, a LaTeX command in the text, a Markdown table rendered as plain CommonMark, a console
error, figures whose text is too small or unmeasured, code and output that scroll sideways). Each
page must be flagged for its defect and nothing else, and a clean page (math, a table shown by
IPython's Markdown, a readable figure, long library lines shown by show_source) must pass: which
also shows that the real configuration logs no console error (THEBE_JS_URL) and renders Markdown
outputs' tables as tables.
"""
from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

import page_checks  # noqa: E402
from pixelcnn_lib.plotting import font_stamping  # noqa: E402
from pixelcnn_lib.show import WrappedCode  # noqa: E402
from test_book_browser import browser, unavailable  # noqa: E402,F401  (a fixture)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]

# The landing page's first list item as it was: the display formula swallowed the next sentence.
OLD_INTRO_ITEM = r"""# Stray dollar

1. **The chain rule.** An image is a sequence of pixels, and its probability factorises exactly into
   one conditional per pixel:
   $$p(\mathbf{x}) = \prod_{i=1}^{n} p(x_i \mid x_1, \ldots, x_{i-1}).$$
   A model that predicts every $p(x_i \mid x_{<i})$ at once, in one pass, can be trained by maximum
   likelihood.
2. **Masks A and B.** A convolution becomes causal when its kernel is masked.
"""

TABLE = "| batch | speedup |\n|---:|---:|\n| 1 | 27.0x |\n| 16 | 196.0x |\n\nCaption with `code`."
LONG_LINE = "x = [" + ", ".join(str(n) for n in range(60)) + "]"
LONG_FUNCTION = "def f(x):\n    if x:\n        return " + " + ".join(f"x{n}" for n in range(40)) + "\n"


def png(fig, stamped=True) -> str:
    printer = functools.partial(print_figure, fmt="png", base64=True)
    data = (font_stamping(printer) if stamped else printer)(fig)
    plt.close(fig)
    return data


def text_figure(fontsize, width_in=3.0, dpi=100) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(width_in, 2), dpi=dpi)
    ax.plot([0, 1], [1, 0])
    ax.set_title("a title", fontsize=fontsize)
    ax.tick_params(labelsize=max(fontsize, 12))
    return fig


def image_output(data: str):
    return nbformat.v4.new_output("display_data", {"image/png": data, "text/plain": "<Figure>"})


def notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def code(source, *outputs, metadata=None):
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs), execution_count=1)
    cell.metadata.update(metadata or {})
    return cell


def markdown_output(text):
    return nbformat.v4.new_output("display_data", {"text/markdown": text, "text/plain": "<Markdown>"})


PAGES = {
    "clean": notebook(
        nbformat.v4.new_markdown_cell(
            "# Clean\n\nThe chain rule, $p(x) = \\prod_i p(x_i \\mid x_{<i})$, in a list:\n\n"
            "1. **One.** It factorises:\n\n   $$p(\\mathbf{x}) = \\prod_{i=1}^{n} p(x_i \\mid x_{<i})$$\n\n"
            "   A model predicts every $p(x_i \\mid x_{<i})$.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"),
        code("from IPython.display import Markdown\nMarkdown(table)", markdown_output(TABLE)),
        code("fig", image_output(png(text_figure(12)))),
        code("show_source(f)", nbformat.v4.new_output("display_data", {  # long lines wrap, no scrolling
            "text/html": WrappedCode(LONG_FUNCTION)._repr_html_(), "text/plain": LONG_FUNCTION})),
        code("print('short')", nbformat.v4.new_output("stream", name="stdout", text="short\n"))),
    "stray_dollar": OLD_INTRO_ITEM,
    "raw_tex": "# Raw TeX\n\nEvery conditional p(x_i \\mid x_{<i}) is a softmax.\n",
    "raw_table": notebook(
        nbformat.v4.new_markdown_cell("# Raw table"),
        code("Markdown(table)", markdown_output(TABLE),
             metadata={"mystnb": {"markdown_format": "commonmark"}})),  # myst-nb's default
    "console_error": "# Console error\n\nText.\n\n<script>console.error('deliberate error');</script>\n",
    "tiny_font": notebook(
        nbformat.v4.new_markdown_cell("# Tiny font"),
        code("fig", image_output(png(text_figure(5)))),  # 5 pt at 100 dpi: 6.9 px
        code("fig", image_output(png(text_figure(10, width_in=20)))),  # 13.9 px, shown at 688/2000
        code("fig", image_output(png(text_figure(12), stamped=False)))),
    "overflow": notebook(
        nbformat.v4.new_markdown_cell("# Overflow"),
        code(LONG_LINE),
        code("print(x)", nbformat.v4.new_output("stream", name="stdout", text=LONG_LINE + "\n"))),
}

EXPECTED = {  # page -> the start of every problem it must have (each at least once, nothing else)
    "clean": [],
    "stray_dollar": ["a `$` outside typeset math", "a LaTeX command outside typeset math"],
    "raw_tex": ["a LaTeX command outside typeset math"],
    "raw_table": ["a raw Markdown table"],
    "console_error": ["console error: deliberate error"],
    "tiny_font": ["figure text too small: code cell 1", "figure text too small: code cell 2",
                  "figure without a font-size stamp"],
    "overflow": ["code scrolls sideways", "output scrolls sideways"],
}


def build_tiny_book(dest: Path) -> Path:
    vendor = ROOT / "book" / "_vendor"
    if not vendor.is_dir():
        unavailable("no book/_vendor: run `python tools/vendor_assets.py` (or `make book`) first")
    book_cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = dict(book_cfg["sphinx"])
    sphinx["config"] = {k: v for k, v in sphinx["config"].items() if not k.startswith("bibtex_")}
    sphinx["config"]["html_static_path"] = ["_vendor"]
    sphinx["local_extensions"] = {name: str(ROOT / path) for name, path in sphinx.get("local_extensions", {}).items()}
    shutil.copytree(vendor, dest / "_vendor", dirs_exist_ok=True)
    shutil.copy2(ROOT / "book" / "images" / "favicon.svg", dest / "favicon.svg")
    cfg = {"title": "Checks", "only_build_toc_files": True, "execute": {"execute_notebooks": "off"},
           "exclude_patterns": ["_build", "_vendor", ".*"], "html": {"favicon": "favicon.svg"}, "sphinx": sphinx}
    (dest / "_config.yml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (dest / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                   + "".join(f"  - file: {name}\n" for name in PAGES))
    (dest / "intro.md").write_text("# Checks\n\nA book of defects.\n")
    for name, page in PAGES.items():
        if isinstance(page, str):
            (dest / f"{name}.md").write_text(page)
        else:
            nbformat.write(page, dest / f"{name}.ipynb")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    # Not -W: the defects are on purpose (and the build must not fail over them).
    subprocess.run([str(jupyter_book), "build", str(dest), "-q"], check=True, env=dict(os.environ))
    return dest / "_build" / "html"


@pytest.fixture(scope="module")
def checked(tmp_path_factory, browser):
    html = build_tiny_book(tmp_path_factory.mktemp("checks-book"))
    with page_checks.serve(html) as site:
        return {name: page_checks.check_page(browser, site, html, f"{name}.html") for name in PAGES}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_check_flags_its_defect_and_nothing_else(checked, name):
    problems = checked[name]
    expected = EXPECTED[name]
    missing = [e for e in expected if not any(p.startswith(e) for p in problems)]
    unrelated = [p for p in problems if not any(p.startswith(e) for e in expected)]
    assert not missing and not unrelated, (
        f"{name}: missing {missing}; unrelated {unrelated}; all: {problems}")


def test_markdown_outputs_render_tables(checked, tmp_path_factory):
    """The real configuration renders a table that IPython's Markdown shows as an HTML table."""
    html = next(tmp_path_factory.getbasetemp().glob("checks-book*/_build/html/clean.html")).read_text()
    assert html.count("<table") == 2 and "|---" not in html


def test_the_wide_figure_is_measured_at_its_displayed_size(checked):
    (wide,) = [p for p in checked["tiny_font"] if p.startswith("figure text too small: code cell 2")]
    # 10 pt at 100 dpi is 13.9 px in the PNG; the ~1,600 px wide figure is shown 688 px wide.
    m = re.search(r"smallest text ([\d.]+) CSS px .*: ([\d.]+) px in the PNG, shown at (\d+) of its (\d+) px", wide)
    css, in_png, shown, natural = map(float, m.groups())
    assert in_png == 13.9 and shown == 688 and natural > 1500
    assert css == pytest.approx(in_png * shown / natural, abs=0.06)


def test_image_bytes_reads_data_urls_and_served_files(tmp_path):
    (tmp_path / "a b.png").write_bytes(b"\x89PNG")
    assert page_checks.image_bytes("data:image/png;base64," + base64.b64encode(b"xy").decode(), "http://h", tmp_path) == b"xy"
    assert page_checks.image_bytes("http://h/a%20b.png?v=1", "http://h", tmp_path) == b"\x89PNG"
    assert page_checks.image_bytes("http://elsewhere/a.png", "http://h", tmp_path) is None
