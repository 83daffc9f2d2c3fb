"""Figures carry their smallest font size in their PNG (pixelcnn_lib.plotting.stamp_figure_fonts),
which the browser test scales to the size each figure is shown at (tests/page_checks.py).

The stamp must be right (tick labels, legends, titles, colour-bar labels, any dpi, cropped or not)
and must not change a single pixel of what readers see.
"""
import base64
from pathlib import Path
import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.core.pylabtools import select_figure_formats  # noqa: E402
from PIL import Image  # noqa: E402

from pixelcnn_lib.plotting import (FONT_STAMP_KEY, animation_html, png_text_chunks,  # noqa: E402
                                   stamp_figure_fonts, stamp_png)


@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    yield shell
    InteractiveShell.clear_instance()


def shown_png(shell, fig) -> bytes:
    """The PNG the notebook would store for `fig`."""
    data, _ = shell.display_formatter.format(fig)
    plt.close(fig)
    return base64.b64decode(data["image/png"])


def stamp(png: bytes) -> str:
    return png_text_chunks(png)[FONT_STAMP_KEY]


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def figure(smallest: str, dpi=100):
    """A figure whose smallest text (7 pt) is `smallest`; everything else is 12 pt."""
    plt.rcParams.update({"font.size": 12})
    fig, ax = plt.subplots(figsize=(3, 2), dpi=dpi)
    im = ax.imshow(np.arange(6).reshape(2, 3))
    ax.plot([0, 1], [0, 1], label="line")
    ax.set_title("title", fontsize=7 if smallest == "title" else 12)
    ax.tick_params(labelsize=7 if smallest == "ticks" else 12)
    ax.legend(fontsize=7 if smallest == "legend" else 12)
    bar = fig.colorbar(im, ax=ax)
    bar.set_label("colour bar", fontsize=7 if smallest == "colorbar" else 12)
    bar.ax.tick_params(labelsize=12)
    if smallest == "annotation":
        ax.annotate("note", (0, 0), fontsize=7)
    return fig


@pytest.mark.parametrize("smallest", ["title", "ticks", "legend", "colorbar", "annotation"])
@pytest.mark.parametrize("dpi", [72, 100, 200])
def test_stamp_is_the_smallest_text_in_png_pixels(shell, smallest, dpi):
    select_figure_formats(shell, {"png"})  # what the inline backend does (bbox_inches="tight")
    assert stamp_figure_fonts(shell)
    with plt.rc_context():
        png = shown_png(shell, figure(smallest, dpi))
    assert float(stamp(png)) == pytest.approx(7 * dpi / 72, abs=0.01)


def test_hidden_and_empty_text_do_not_count(shell):
    select_figure_formats(shell, {"png"})
    stamp_figure_fonts(shell)
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(np.eye(3))
    ax.set_axis_off()  # its tick labels exist but are not drawn
    ax.text(0, 0, "hidden", fontsize=3).set_visible(False)
    ax.set_title("  ", fontsize=2)
    assert stamp(shown_png(shell, fig)) == "none"
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.imshow(np.eye(3))
    ax.set_axis_off()
    ax.set_title("seen", fontsize=9)
    assert float(stamp(shown_png(shell, fig))) == pytest.approx(12.5)


def test_retina_figures_are_stamped_in_their_own_pixels(shell):
    select_figure_formats(shell, {"retina"})
    stamp_figure_fonts(shell)
    with plt.rc_context():
        png = shown_png(shell, figure("title"))
    assert float(stamp(png)) == pytest.approx(7 * 200 / 72, abs=0.01)


def test_the_stamp_changes_no_pixel(shell):
    select_figure_formats(shell, {"png"})
    with plt.rc_context():
        plain = shown_png(shell, figure("legend"))
        assert stamp_figure_fonts(shell)
        stamp_figure_fonts(shell)  # twice: still one wrapper, one stamp
        stamped = shown_png(shell, figure("legend"))
    assert FONT_STAMP_KEY not in png_text_chunks(plain)
    assert list(png_text_chunks(stamped)).count(FONT_STAMP_KEY) == 1
    assert stamped.count(FONT_STAMP_KEY.encode()) == 1
    assert np.array_equal(pixels(plain), pixels(stamped))


def test_stamp_png_round_trip_and_bad_input():
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), "white").save(buf, format="PNG")
    png = stamp_png(buf.getvalue(), "k", "1.5")
    assert png_text_chunks(png)["k"] == "1.5"
    assert np.array_equal(pixels(png), pixels(buf.getvalue()))
    Image.open(io.BytesIO(png)).load()  # still a valid PNG (chunk CRCs are checked)
    with pytest.raises(ValueError, match="not a"):
        stamp_png(b"GIF89a", "k", "1")


def test_nothing_is_stamped_outside_ipython():
    assert InteractiveShell.initialized() is False
    assert stamp_figure_fonts() is False


def test_animation_frames_are_stamped():
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(2, 2), dpi=100)
    im = ax.imshow([[0, 1]])
    ax.set_title("step", fontsize=6)
    anim = animation.FuncAnimation(fig, lambda k: [im], frames=3)
    anim.to_jshtml()  # matplotlib caches this; animation_html must still measure the frames
    html = animation_html(anim)
    plt.close(fig)
    frames = re.findall(r'"data:image/png;base64,([^"]+)"', html)
    assert len(frames) == 3
    assert {stamp(base64.b64decode(f)) for f in frames} == {f"{6 * 100 / 72:.2f}"}


@pytest.mark.notebooks  # starts kernels (slow), like the chapter runs
def test_the_chapter_runners_kernels_stamp_figures_and_an_import_does_not(tmp_path):
    """A kernel started as tools/run_chapters.py starts them stamps every figure, even one drawn
    before anything of the library was imported; in a plain kernel importing the library changes
    nothing (no import side effect)."""
    import os
    import sys

    import nbformat
    from nbclient import NotebookClient

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from run_chapters import stamping_ipython_dir

    cells = ["import matplotlib.pyplot as plt\nplt.plot([1, 2]);",
             "import pixelcnn_lib.book\nfig, ax = plt.subplots()\nax.set_title('t', fontsize=7)\nax.plot([1, 2]);"]

    def pngs(env):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
        return [base64.b64decode(o.data["image/png"]) for c in nb.cells for o in c.outputs
                if "image/png" in o.get("data", {})]
    plain = pngs({**os.environ, "IPYTHONDIR": str(tmp_path / "plain_ipython")})
    assert len(plain) == 2 and not any(FONT_STAMP_KEY in png_text_chunks(p) for p in plain)
    runner = pngs({**os.environ, "IPYTHONDIR": str(stamping_ipython_dir())})
    assert len(runner) == 2
    assert float(stamp(runner[1])) == pytest.approx(7 * 100 / 72, abs=0.01)
    assert FONT_STAMP_KEY in png_text_chunks(runner[0])  # drawn before any library import
