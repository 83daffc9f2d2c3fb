"""Figures the chapters draw: image grids, receptive-field maps, training curves.

Receptive-field colours come from the Okabe-Ito palette, which stays distinct for the
common forms of colour blindness; the legend names every colour.

Every figure a notebook shows also carries, in its PNG, the size of its smallest text in the
PNG's own pixels (`stamp_figure_fonts`, switched on explicitly by what needs it: the kernels that
tools/run_chapters.py starts, never by an import), so the book's browser test can tell whether any
figure's text is too small to read at the size it is displayed on the page.
"""
import base64
import contextlib
import functools
import struct
import zlib

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from .receptive import blind_spot, past

# index: 0 future, 1 earlier but not seen, 2 seen, 3 blind spot, 4 target
# What a pixel is, seen from the target: the codes of field_codes, field.js KIND and (with LEAK)
# designer.js, indexing FIELD_COLORS (+ LEAK_COLOR).
FUTURE, UNREACHED, SEEN, BLIND, TARGET, LEAK = range(6)
FIELD_COLORS = ["#FFFFFF", "#DDDDDD", "#0072B2", "#E69F00", "#000000"]
FIELD_LABELS = ["future (never allowed)", "earlier, out of reach", "seen",
                "blind spot", "target pixel"]
# show_field(leaks=True): a pixel at or after the target that the output reads (the designer
# widget's leak colour, dom.js COLOURS.leak)
LEAK_COLOR, LEAK_LABEL = "#D55E00", "read at or after the target: a leak"


def image_grid(images, levels, nrow=8, padding=1):
    """Integer images [N, C, H, W] -> float array [H', W', C] in [0, 1] for imshow."""
    from torchvision.utils import make_grid
    x = torch.as_tensor(images).float() / (levels - 1)
    grid = make_grid(x, nrow=nrow, padding=padding, pad_value=0.5)
    return grid.permute(1, 2, 0).numpy()


def show_images(images, levels, nrow=8, title=None, ax=None, scale=0.35):
    """Plot a grid of integer images (greyscale or RGB)."""
    grid = image_grid(images, levels, nrow)
    if ax is None:
        _, ax = plt.subplots(figsize=(grid.shape[1] * scale / 8, grid.shape[0] * scale / 8))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def field_codes(seen, target, channel=0):
    """[H, W] ints indexing FIELD_COLORS for a boolean field `seen` of output pixel `target`."""
    seen = torch.as_tensor(seen, dtype=torch.bool)
    codes = torch.zeros(seen.shape, dtype=torch.long)
    codes[past(target, seen.shape)] = UNREACHED
    codes[seen] = SEEN
    codes[blind_spot(seen, target)] = BLIND
    codes[target] = TARGET
    return codes


def show_field(seen, target, title=None, ax=None, legend=True, grid_lines=True, leaks=False):
    """Draw a receptive field: what output `target` sees, its blind spot, and the future.

    `leaks=True` (for fields that are not causal) paints every pixel at or after the target
    that the output reads, the target included, in the leak colour, instead of as seen/target.
    """
    codes = field_codes(seen, target)
    colors = FIELD_COLORS
    if leaks:
        read = torch.as_tensor(seen, dtype=torch.bool)
        codes[read & ~past(target, read.shape)] = LEAK
        colors = FIELD_COLORS + [LEAK_COLOR]
    codes = codes.numpy()
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    ax.imshow(codes, cmap=ListedColormap(colors), vmin=0, vmax=len(colors) - 1,
              interpolation="nearest")
    H, W = codes.shape
    if grid_lines and max(H, W) <= 32:
        ax.set_xticks(np.arange(-0.5, W, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, H, 1), minor=True)
        ax.grid(which="minor", color="#999999", linewidth=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(handles=field_legend(leaks), loc="upper left", bbox_to_anchor=(1.02, 1),
                  fontsize=8, frameon=False)
    return ax


def field_legend(leaks=False):
    pairs = list(zip(FIELD_COLORS, FIELD_LABELS)) + ([(LEAK_COLOR, LEAK_LABEL)] if leaks else [])
    return [Patch(facecolor=c, edgecolor="#999999", label=label) for c, label in pairs]


def show_influence(influence, target, title=None, ax=None, outline=None):
    """Heat map of |gradient| per input pixel (max over channels), target marked.

    `outline` (bool [H, W]), e.g. the analytic field, is drawn as contour for comparison.
    """
    infl = torch.as_tensor(influence, dtype=torch.float64)
    infl = infl.amax(0) if infl.dim() == 3 else infl
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    shown = np.log10(infl.numpy() + 1e-12)
    shown[infl.numpy() == 0] = np.nan  # exactly zero: no path at all
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("#FFFFFF")
    im = ax.imshow(shown, cmap=cmap, interpolation="nearest")
    ax.plot(target[1], target[0], marker="s", color="#D55E00", markersize=6)
    if outline is not None:
        ax.contour(torch.as_tensor(outline).float().numpy(), levels=[0.5], colors="#E69F00",
                   linewidths=1.2)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    plt.colorbar(im, ax=ax, fraction=0.046, label="log10 |d log p / d pixel|")
    return ax


def animation_html(anim, **kwargs):
    """HTML for a matplotlib animation that loads nothing from other sites.

    `to_jshtml` links Font Awesome 4 from a CDN for its buttons; the book serves every file
    itself (and is read offline), so the link is dropped: the book's theme already ships Font
    Awesome, and in a notebook the buttons still work, with text-less icons at worst.
    Every PNG frame carries the smallest font size drawn in any frame (FONT_STAMP_KEY), like the
    book's other figures.
    """
    import re
    anim.__dict__.pop("_html_representation", None)  # matplotlib caches it: draw the frames again
    with recording_text_sizes() as sizes:
        html = anim.to_jshtml(**kwargs)
    stamp = f"{min(sizes):.2f}" if sizes else "none"

    def stamped(m):  # frames are base64 with backslash-newline line breaks (JavaScript strings)
        png = stamp_png(base64.b64decode(m.group(1).replace("\\\n", "")), FONT_STAMP_KEY, stamp)
        return '"data:image/png;base64,' + base64.b64encode(png).decode("ascii") + '"'

    html = re.sub(r'"data:image/png;base64,([A-Za-z0-9+/=\\\n]+)"', stamped, html)
    return re.sub(r'<link\s+rel="stylesheet"\s+href="https?://[^"]*"\s*/?>\s*', "", html)


# --- The smallest text of every figure, stamped into its PNG for the book's browser test ----------

FONT_STAMP_KEY = "pixelcnn-min-font-px"  # value: a number of PNG pixels, or "none" (no text at all)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@contextlib.contextmanager
def recording_text_sizes():
    """Yields a list that collects the font size, in output pixels, of every non-empty text drawn
    meanwhile (titles, tick labels, legends, colour-bar labels, annotations: all are Text)."""
    from matplotlib.text import Text

    sizes = []
    original = Text.draw

    @functools.wraps(original)
    def draw(self, renderer, *args, **kwargs):
        if renderer is not None and self.get_visible() and self.get_text().strip():
            sizes.append(float(renderer.points_to_pixels(self.get_fontsize())))
        return original(self, renderer, *args, **kwargs)

    Text.draw = draw
    try:
        yield sizes
    finally:
        Text.draw = original


def png_text_chunks(png: bytes) -> dict:
    """The tEXt chunks of a PNG, keyword -> text."""
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    chunks, pos = {}, len(_PNG_SIGNATURE)
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"tEXt":
            key, _, text = png[pos + 8:pos + 8 + length].partition(b"\0")
            chunks[key.decode("latin-1")] = text.decode("latin-1")
        pos += 12 + length
    return chunks


def stamp_png(png: bytes, key: str, text: str) -> bytes:
    """`png` with a tEXt chunk `key`: `text` added before its end; the pixels are untouched."""
    if not (png.startswith(_PNG_SIGNATURE) and png[-8:-4] == b"IEND"):
        raise ValueError("not a complete PNG image")
    body = b"tEXt" + key.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return png[:-12] + chunk + png[-12:]


def font_stamping(printer):
    """Wrap an IPython PNG printer of figures (bytes or base64, alone or with metadata) so that
    its PNG carries FONT_STAMP_KEY; what it draws is unchanged."""
    if getattr(printer, "stamps_fonts", False):
        return printer

    @functools.wraps(printer)
    def png(fig, *args, **kwargs):
        with recording_text_sizes() as sizes:
            out = printer(fig, *args, **kwargs)
        data, meta = out if isinstance(out, tuple) else (out, None)
        if data is None:  # an empty figure: IPython shows nothing
            return out
        raw = base64.b64decode(data) if isinstance(data, str) else data
        raw = stamp_png(raw, FONT_STAMP_KEY, f"{min(sizes):.2f}" if sizes else "none")
        data = base64.b64encode(raw).decode("ascii") if isinstance(data, str) else raw
        return data if meta is None else (data, meta)

    png.stamps_fonts = True
    return png


def stamp_figure_fonts(shell=None) -> bool:
    """Make the PNG of every figure that the IPython `shell` (default: the running one) shows
    carry its smallest font size. Returns whether figures are now stamped (False outside IPython
    or when figures are not shown as PNG)."""
    import importlib

    import matplotlib
    from matplotlib.figure import Figure

    if shell is None:
        from IPython import get_ipython
        shell = get_ipython()
    if shell is None:
        return False
    rc = matplotlib.rcParams
    backend = rc._get("backend") if hasattr(rc, "_get") else rc["backend"]  # _get: no auto-select
    if "inline" in str(backend):
        # Importing the inline backend installs its figure formatter (once); wrap it afterwards.
        importlib.import_module("matplotlib_inline.backend_inline")
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        printer = formatter.lookup_by_type(Figure)
    except KeyError:
        return False
    formatter.for_type(Figure, font_stamping(printer))
    return True

