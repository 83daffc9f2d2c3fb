"""Chapter 4 checks: the down-shift, and the vertical stack's cropped kernel proved equal to the
masked k x k form."""
import torch
import torch.nn.functional as F

from ..layers import down_shift, vertical_conv
from .core import Case, Mistake, compare_close, judge, report, seeded

# ----------------------------------------------------------------------------- down-shift


def shift_cases():
    with seeded(4):
        yield Case("random [2, 3, 5, 4]", (torch.randn(2, 3, 5, 4, dtype=torch.float64),), None)
        yield Case("one row (H = 1)", (torch.randn(1, 2, 1, 6, dtype=torch.float64),), None)
        yield Case("one column (W = 1)", (torch.randn(2, 1, 4, 1, dtype=torch.float64),), None)
        yield Case("integer levels", (torch.randint(0, 256, (1, 1, 6, 6)),), None)


def _with_expected(cases):
    for case in cases():
        case.expected = down_shift(case.args[0]).double()
        yield case


SHIFT_MISTAKES = [
    Mistake("you shift up: row i then holds row i + 1, a row from the future. Zeros enter at the "
            "top, and the last row drops out.",
            lambda c: F.pad(c.args[0], (0, 0, 0, 1))[:, :, 1:].double()),
    Mistake("you shift the columns (dim 3), not the rows (dim 2).",
            lambda c: F.pad(c.args[0], (1, 0, 0, 0))[..., :-1].double()),
    Mistake("you roll the rows: the last row wraps around to the top. Row 0 has nothing above "
            "it, so it must be zeros.", lambda c: c.args[0].roll(1, dims=2).double()),
    Mistake("you return H + 1 rows: pad one row of zeros on top, then drop the last row.",
            lambda c: F.pad(c.args[0], (0, 0, 1, 0)).double()),
]


def judge_down_shift(fn):
    return judge(fn, "my_down_shift", lambda: _with_expected(shift_cases), compare_close,
                 SHIFT_MISTAKES, passed="your down-shift equals the library's `down_shift`.")


def check_down_shift(fn):
    """Chapter 4: `my_down_shift(x)` -> x moved one row down, zeros in row 0."""
    report(judge_down_shift(fn))


# ----------------------------------------------------------------------------- vertical stack


def library_vertical(x, weight, bias):
    """The library's vertical stack, as the horizontal stack receives it."""
    k = weight.shape[-1]
    conv = vertical_conv(weight.shape[1], weight.shape[0], k).double()
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return down_shift(conv(x))


def masked_form(x, weight, bias):
    """The paper's form: a k x k kernel with the rows below the centre zeroed, 'same' padding."""
    k = weight.shape[-1]
    r = k // 2
    full = torch.zeros(*weight.shape[:2], k, k, dtype=weight.dtype)
    full[:, :, :r + 1] = weight
    return down_shift(F.conv2d(F.pad(x, (r, r, r, r)), full, bias))


def vertical_cases():
    specs = [("3x3 kernel", 3, (2, 3, 6, 7)), ("5x5 kernel", 5, (1, 2, 7, 6)),
             ("1x1 kernel", 1, (2, 2, 4, 5)), ("one-row image", 3, (1, 2, 1, 5)),
             ("the masked 5x5 form", 5, (2, 3, 8, 8))]
    for n, (name, k, (b, cin, h, w)) in enumerate(specs):
        with seeded(30 + n):
            x = torch.randn(b, cin, h, w, dtype=torch.float64)
            weight = torch.randn(4, cin, k // 2 + 1, k, dtype=torch.float64)
            bias = torch.randn(4, dtype=torch.float64)
        reference = masked_form if "masked" in name else library_vertical
        yield Case(name, (x, weight, bias), reference(x, weight, bias))


def _conv(x, weight, bias, pad):
    return F.conv2d(F.pad(x, pad), weight, bias)


def _pads(c):
    r = c.args[1].shape[-1] // 2
    return r, (r, r, r, 0)


VERTICAL_MISTAKES = [
    Mistake("you leave out the down-shift: output row i then reads input row i itself, including "
            "the pixels right of (i, j) that the horizontal stack must never see.",
            lambda c: _conv(*c.args, _pads(c)[1])),
    Mistake("you pad below instead of above: output row i then reads rows below it, the future. "
            "Pad r rows on top and none below (r columns on each side).",
            lambda c: down_shift(_conv(*c.args, (_pads(c)[0],) * 2 + (0, _pads(c)[0])))),
    Mistake("you shift up instead of down after the convolution.",
            lambda c: F.pad(_conv(*c.args, _pads(c)[1]), (0, 0, 0, 1))[:, :, 1:]),
    Mistake("you shift the input instead of the output: row 0 then gets the bias, but the "
            "down-shift brings in a row of zeros.",
            lambda c: _conv(down_shift(c.args[0]), *c.args[1:], _pads(c)[1])),
    Mistake("you left out the bias.", lambda c: library_vertical(c.args[0], c.args[1],
                                                                 torch.zeros_like(c.args[2]))),
]


def read_rows(fn, k, size=9):
    """Input row minus output row, for every tap `fn` reads (probed with a one-pixel image)."""
    x = torch.zeros(1, 1, size, size, dtype=torch.float64)
    x[0, 0, size // 2, size // 2] = 1.0
    weight = torch.ones(1, 1, k // 2 + 1, k, dtype=torch.float64)
    with torch.no_grad():
        out = torch.as_tensor(fn(x, weight, torch.zeros(1, dtype=torch.float64)))[0, 0]
    return sorted({size // 2 - int(i) for i in out.nonzero()[:, 0]})


def explain_vertical(got, case):
    """Describe the rows the reader's function reads (probed on a one-pixel image)."""
    rows = read_rows(case.context["fn"], case.args[1].shape[-1])
    if any(row > 0 for row in rows):
        return "output row i reads rows below it (the future): pad on top, not at the bottom."
    if 0 in rows:
        return "output row i reads input row i: shift the convolution's output down one row."
    return None


def judge_vertical_stack(fn):
    def cases():
        for case in vertical_cases():
            case.context["fn"] = fn
            yield case
    return judge(fn, "my_vertical_stack", cases, compare_close, VERTICAL_MISTAKES,
                 explain_vertical, "your cropped convolution plus down-shift equals the library's "
                                   "vertical stack and the masked k x k form; row i reads only "
                                   "rows above it.")


def check_vertical_stack(fn):
    """Chapter 4: `my_vertical_stack(x, weight, bias)` -> what reaches the horizontal stack."""
    report(judge_vertical_stack(fn))
