"""Chapter 7 checks: one cached step of a one-layer PixelCNN, split as the cached sampler splits
it: the row cache (rows above, computed once per row) and the pixel update (current row)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..fast_sampling import CachedModel
from ..models import PixelCNN
from .core import Case, Mistake, compare_close, judge, report, seeded


def one_layer(kernel_size, levels=4, seed=0):
    """A float64 PixelCNN with one mask-A layer, random weights and biases."""
    with seeded(seed):
        model = PixelCNN(1, levels, hidden_channels=4, n_layers=1, kernel_size=kernel_size)
        model = model.double().eval()
        for p in model.parameters():
            nn.init.normal_(p, 0, 0.5)
    return model


def setting(kernel_size, n, size, seed):
    """(model, integer image, the float image the first layer reads): every pixel known."""
    model = one_layer(kernel_size, seed=seed)
    with seeded(seed + 1):
        x = torch.randint(0, model.color_levels, (n, 1, *size))
    return model, x, model.scale(x)


def library_row_cache(model, x, i):
    """[B, out, W]: what `CachedLayer.start_row(i)` stores for the layer (rows above + bias)."""
    cache = CachedModel(model, x)
    cache.start_row(i)
    return cache.layers[0].row_pre.permute(1, 2, 0).clone()


ROW_SPECS = [("row 0 (nothing above it)", 3, 0, 2, (5, 6)),
             ("row 1, 5x5 kernel (one row above)", 5, 1, 2, (6, 6)),
             ("a middle row, 3x3", 3, 3, 2, (6, 7)),
             ("the last row, 5x5", 5, 5, 1, (6, 5)),
             ("3 images", 3, 2, 3, (4, 4))]


def row_cases():
    for n, (name, k, i, b, size) in enumerate(ROW_SPECS):
        model, x, xf = setting(k, b, size, seed=90 + 2 * n)
        conv = model.convs[0]
        yield Case(name, (conv, xf, i), library_row_cache(model, x, i))


def row_variant(c, first_row=None, bias=True):
    """Rows first_row .. first_row + r - 1 of the input under the kernel's rows above the centre."""
    conv, x, i = c.args
    r = conv.kernel_size[0] // 2
    start = i - r if first_row is None else first_row
    padded = F.pad(x, (r, r, r, r))
    rows = padded[:, :, start + r: start + 2 * r]
    out = F.conv2d(rows, conv.masked_weight()[:, :, :r], conv.bias if bias else None)
    return out[:, :, 0]


ROW_MISTAKES = [
    Mistake("your cache includes the taps on row i itself: row i is being drawn, so the cache "
            "holds only the rows above it (and the bias).",
            lambda c: c.args[0](c.args[1])[:, :, c.args[2]]),
    Mistake("your rows are off by one: the kernel's top row meets input row i - r, its last row "
            "above the centre meets row i - 1.",
            lambda c: row_variant(c, first_row=c.args[2] - c.args[0].kernel_size[0] // 2 + 1)),
    Mistake("you left out the bias: it is the same for every pixel of the row, so the cache "
            "holds it.", lambda c: row_variant(c, bias=False)),
]


def judge_row_cache(fn):
    return judge(fn, "my_row_cache", row_cases, compare_close, ROW_MISTAKES,
                 passed="your row cache equals `CachedLayer.start_row`'s.")


def check_row_cache(fn):
    """Chapter 7: `my_row_cache(conv, x, i)` -> [B, out, W], the part fixed when row i starts."""
    report(judge_row_cache(fn))


# ----------------------------------------------------------------------------- pixel update

PIXEL_SPECS = [("left edge, j = 0", 3, 2, 0, (5, 6)),
               ("j = 1, 5x5 kernel (one pixel to the left)", 5, 3, 1, (6, 6)),
               ("a middle pixel, 3x3", 3, 3, 3, (6, 7)),
               ("right edge, 5x5", 5, 4, 5, (6, 6)),
               ("row 0, a middle pixel", 3, 0, 2, (4, 5))]


def pixel_cases():
    for n, (name, k, i, j, size) in enumerate(PIXEL_SPECS):
        model, x, xf = setting(k, 2, size, seed=110 + 2 * n)
        conv = model.convs[0]
        row_pre = library_row_cache(model, x, i)
        yield Case(name, (conv, row_pre, xf, i, j), conv(xf)[:, :, i, j])


def pixel_variant(c, shift=0, taps=None, weight="masked", with_row=True):
    """row_pre + the centre row's taps over columns j - r + shift .. (a usual mistake each)."""
    conv, row_pre, x, i, j = c.args
    r = conv.kernel_size[0] // 2
    w = conv.masked_weight() if weight == "masked" else conv.weight
    taps = r if taps is None else taps
    row = F.pad(x[:, :, i], (r, r))
    window = row[:, :, j + shift: j + shift + taps]
    part = (window[:, None] * w[:, :, r, :taps][None]).sum(dim=(2, 3))
    return part + (row_pre[:, :, j] if with_row else 0)


PIXEL_MISTAKES = [
    Mistake("you read the pixel being drawn (column j): the current row's taps stop left of the "
            "centre, which mask A closes.",
            lambda c: pixel_variant(c, taps=c.args[0].kernel_size[0] // 2 + 1, weight="raw")),
    Mistake("you read pixels right of column j: they are not drawn yet.",
            lambda c: pixel_variant(c, taps=c.args[0].kernel_size[0], weight="raw")),
    Mistake("your window is one column to the right: the centre row's first tap meets column "
            "j - r, its last open tap column j - 1.", lambda c: pixel_variant(c, shift=1)),
    Mistake("you left out the row cache: the pre-activation is the row part (rows above, bias) "
            "plus the pixel part (this row).", lambda c: pixel_variant(c, with_row=False)),
]


def judge_pixel_step(fn):
    return judge(fn, "my_pixel_step", pixel_cases, compare_close, PIXEL_MISTAKES,
                 passed="row cache plus pixel update equals the full masked convolution at "
                        "(i, j), as in the cached sampler.")


def check_pixel_step(fn):
    """Chapter 7: `my_pixel_step(conv, row_pre, x, i, j)` -> [B, out] pre-activation at (i, j)."""
    report(judge_pixel_step(fn))
