"""Chapter 2 checks (the causal mask, greyscale then colour) and chapter 3 (field, blind spot)."""
import torch

from ..masks import causal_mask, channel_groups
from ..receptive import analytic_field, blind_spot, past
from .core import Case, Mistake, compare_exact, judge, report

COLOURS = "RGB"

# ----------------------------------------------------------------------------- greyscale mask


def grey_mask(k, mask_type):
    one = torch.arange(1)
    return causal_mask(k, mask_type, one, one)[0, 0]


def spatial_problem(got, k, mask_type):
    """Why a [k, k] 0/1 mask differs from the causal one (None if it does not)."""
    g, c = got != 0, k // 2
    e = grey_mask(k, mask_type).bool()
    if g[c, c] and not e[c, c]:
        return ("your mask lets the centre pixel see itself: type A (the first layer) must close "
                "the centre, or each output would copy the very input it predicts.")
    if e[c, c] and not g[c, c]:
        return ("your type-B mask closes the centre: after the first layer the centre holds "
                "features of the past only, so type B opens it.")
    if g[c + 1:].any():
        return "your mask opens taps below the centre row: those rows are in the future."
    if g[c, c + 1:].any():
        return ("your mask opens taps right of the centre in its row: those pixels come later in "
                "raster order.")
    if (~g[:c]).any():
        return "your mask closes taps in the rows above the centre: all of them are in the past."
    if (~g[c, :c]).any():
        return "your mask closes taps left of the centre in its row: they are in the past."
    return None


def off_centre(k, mask_type, shift):
    """The mask with its centre moved by `shift` rows and columns (an off-by-one centre)."""
    c = k // 2 + shift
    mask = torch.zeros(k, k)
    mask[:max(c, 0)] = 1
    if 0 <= c < k:
        mask[c, :max(c, 0)] = 1
        mask[c, c] = float(mask_type == "B")
    return mask


OFF_BY_ONE = ("your centre is off by one: in a k x k kernel the centre tap is at row k // 2, "
              "column k // 2.")
MASK_MISTAKES = [
    Mistake("your mask lets the centre pixel see itself: type A (the first layer) must close the "
            "centre, or each output would copy the very input it predicts.",
            lambda c: grey_mask(c.args[0], "B") if c.args[1] == "A" else None),
    Mistake("your type-B mask closes the centre: after the first layer the centre holds features "
            "of the past only, so type B opens it.",
            lambda c: grey_mask(c.args[0], "A") if c.args[1] == "B" else None),
    Mistake("your mask is flipped: it opens the taps after the centre (below, and right of it) "
            "instead of those before it (above, and left of it).",
            lambda c: grey_mask(*c.args).flip(0, 1)),
    Mistake(OFF_BY_ONE, lambda c: off_centre(*c.args, 1)),
    Mistake(OFF_BY_ONE, lambda c: off_centre(*c.args, -1)),
]


def mask_cases():
    for k, mask_type in [(3, "A"), (3, "B"), (5, "A"), (7, "B"), (1, "A"), (1, "B")]:
        yield Case(f"{k}x{k}, type {mask_type}", (k, mask_type), grey_mask(k, mask_type))


def judge_causal_mask(fn):
    return judge(fn, "my_causal_mask", mask_cases, compare_exact, MASK_MISTAKES,
                 lambda got, case: spatial_problem(got, *case.args),
                 "your masks equal the library's `causal_mask` for one channel.")


def check_causal_mask(fn):
    """Chapter 2: `my_causal_mask(kernel_size, mask_type)` -> [k, k] mask for one channel."""
    report(judge_causal_mask(fn))


# ----------------------------------------------------------------------------- colour mask


def colour_cases():
    rgb, six = torch.arange(3), channel_groups(6, 3)
    logits = torch.arange(3).repeat_interleave(2)  # a head with 2 levels per colour
    one = torch.arange(1)
    specs = [("RGB image -> 6 channels, 5x5, type A", 5, "A", rgb, six),
             ("6 -> 6 channels, 3x3, type B", 3, "B", six, six),
             ("6 channels -> RGB logits, 1x1, type B", 1, "B", six, logits),
             ("RGB -> RGB, 3x3, type A", 3, "A", rgb, rgb),
             ("greyscale 3x3, type A", 3, "A", one, one)]
    for name, k, mask_type, in_g, out_g in specs:
        yield Case(name, (k, mask_type, in_g, out_g), causal_mask(k, mask_type, in_g, out_g))


def _centre_rule(case, rule):
    k, _, in_g, out_g = case.args
    mask = case.expected.clone()
    mask[:, :, k // 2, k // 2] = rule(out_g[:, None], in_g[None, :]).float()
    return mask


COLOUR_MISTAKES = [
    Mistake("your centre rule is reversed: it lets an output read *later* colours (red reading "
            "blue). An output may read earlier colours (and, for type B, its own).",
            lambda c: _centre_rule(c, (lambda o, i: o < i) if c.args[1] == "A" else
                                   (lambda o, i: o <= i))),
    Mistake("type A lets an output channel read its own colour at the centre: the red output "
            "would see the red value it predicts. Type A allows earlier colours only.",
            lambda c: _centre_rule(c, lambda o, i: o >= i) if c.args[1] == "A" else None),
    Mistake("your type-B centre closes each channel's own colour: in hidden layers a channel may "
            "read features of its own colour (they summarise the past only).",
            lambda c: _centre_rule(c, lambda o, i: o > i) if c.args[1] == "B" else None),
    Mistake("you compare channel indices, not colours: use in_groups and out_groups, the colour "
            "of each channel.",
            lambda c: _centre_rule(c, lambda o, i: (torch.arange(len(c.args[3]))[:, None] >
                                                    torch.arange(len(c.args[2]))[None, :])
                                   if c.args[1] == "A" else
                                   (torch.arange(len(c.args[3]))[:, None] >=
                                    torch.arange(len(c.args[2]))[None, :]))),
]


def explain_colour(got, case):
    k, mask_type, in_g, out_g = case.args
    c = k // 2
    g = got != 0
    for o in range(g.shape[0]):
        for i in range(g.shape[1]):
            spatial = g[o, i].clone()
            spatial[c, c] = mask_type == "B"  # judge the off-centre taps alone
            problem = spatial_problem(spatial.float(), k, mask_type)
            if problem:
                return f"(output {o}, input {i}): {problem}"
    bad = (g[:, :, c, c] != case.expected[:, :, c, c].bool()).nonzero()
    if len(bad):
        o, i = bad[0].tolist()
        return (f"the centre tap of output channel {o} ({COLOURS[out_g[o]]}) reading input "
                f"channel {i} ({COLOURS[in_g[i]]}) is wrong: check the colour rule for type "
                f"{mask_type}.")
    return None


def judge_colour_mask(fn):
    return judge(fn, "my_colour_mask", colour_cases, compare_exact, COLOUR_MISTAKES,
                 explain_colour, "your masks equal the library's `causal_mask` with colour groups.")


def check_colour_mask(fn):
    """Chapter 2: `my_colour_mask(k, mask_type, in_groups, out_groups)` -> [out, in, k, k]."""
    report(judge_colour_mask(fn))


# ----------------------------------------------------------------------------- chapter 3


def walk(target, image_size, n_layers, k=3, later="B", clip=True):
    """The masked stack's field as a set, walking back one layer at a time (for mistakes)."""
    H, W = image_size
    r = k // 2
    before = [(di, dj) for di in range(-r, 1) for dj in range(-r, r + 1) if di < 0 or dj < 0]
    need = {tuple(target)}
    for layer in range(n_layers, 0, -1):
        taps = before + ([(0, 0)] if layer > 1 and later == "B" else [])
        need = {(i + di, j + dj) for i, j in need for di, dj in taps
                if not clip or (0 <= i + di < H and 0 <= j + dj < W)}
    grid = torch.zeros(H, W, dtype=torch.bool)
    for i, j in need:
        if -H <= i < H and -W <= j < W:
            grid[i, j] = True  # negative indices wrap around, as in the reader's likely bug
    return grid


def field_cases():
    specs = [("1 layer, 3x3", (5, 5), (10, 10), 1, 3), ("2 layers, 5x5", (6, 5), (12, 12), 2, 5),
             ("4 layers, 3x3", (7, 6), (12, 12), 4, 3),
             ("target in the top row", (0, 5), (8, 10), 3, 3),
             ("target at the right border", (6, 9), (8, 10), 4, 3),
             ("target (0, 0)", (0, 0), (6, 6), 3, 3)]
    for name, target, size, n, k in specs:
        yield Case(name, (target, size, n, k), analytic_field("masked", target, size, n, k))


FIELD_MISTAKES = [
    Mistake("your walk treats every layer as type A: layers 2 to n are type B and also read their "
            "centre, so a path may stay in place for a layer.",
            lambda c: walk(*c.args, later="A")),
    Mistake("your walk leaves the image: positions outside it (a negative row or column) wrap "
            "around to the other side of the tensor. Keep only positions inside the image at "
            "every step.", lambda c: walk(*c.args, clip=False)),
    Mistake("your field is that of one layer more than asked.",
            lambda c: walk(*c.args[:2], c.args[2] + 1, c.args[3])),
    Mistake("your field is that of one layer fewer than asked.",
            lambda c: walk(*c.args[:2], c.args[2] - 1, c.args[3]) if c.args[2] > 1 else None),
]


def explain_field(got, case):
    target, size = case.args[0], case.args[1]
    g, e = got != 0, case.expected
    if g[target]:
        return ("your field contains the target pixel itself: layer 1 (type A) never reads its "
                "centre, and no later layer can bring it back.")
    if (g & ~past(target, size)).any():
        return ("your field contains pixels after the target in raster order: walk back through "
                "the taps before the centre (above it, or left of it in its row).")
    if (e & ~g).any():
        return "your field misses pixels that the network sees."
    return "your field holds earlier pixels that no path through the layers reaches."


def judge_masked_field(fn):
    return judge(fn, "my_masked_field", field_cases, compare_exact, FIELD_MISTAKES, explain_field,
                 "your walk gives the library's analytic field (which the tests hold equal to "
                 "the network's exact dependency map).")


def check_masked_field(fn):
    """Chapter 3: `my_masked_field(target, image_size, n_layers, kernel_size=3)` -> bool [H, W]."""
    report(judge_masked_field(fn))


def wedge(target, image_size, n_layers, side=1, diagonal=False, clip_top=True):
    """The blind spot predicted from the wedge shape, with the usual slips as options."""
    H, W = image_size
    i, j = target
    reach = min(n_layers, i if clip_top else n_layers, W - 1 - j if side > 0 else j)
    spot = torch.zeros(H, W, dtype=torch.bool)
    for a in range(1, min(i, n_layers) + 1):
        for b in range(a if diagonal else a + 1, reach + 1):
            spot[i - a, j + side * b] = True
    return spot


def blind_cases():
    specs = [("1 layer, far from the borders", (10, 10), (20, 20), 1),
             ("2 layers, far from the borders", (10, 10), (20, 20), 2),
             ("5 layers, far from the borders", (12, 8), (20, 20), 5),
             ("5 layers, target in row 2", (2, 8), (20, 20), 5),
             ("4 layers, near the right border", (10, 17), (20, 20), 4),
             ("target in the top row", (0, 5), (10, 10), 3)]
    for name, target, size, n in specs:
        yield Case(name, (target, size, n), blind_spot(analytic_field("masked", target, size, n),
                                                       target))


BLIND_MISTAKES = [
    Mistake("your blind spot includes the up-right diagonal: one (-1, +1) step per layer reaches "
            "it, so the network sees those pixels.", lambda c: wedge(*c.args, diagonal=True)),
    Mistake("your wedge is on the wrong side: up and to the left of the target the field has no "
            "holes; the blind spot lies up and to the right.", lambda c: wedge(*c.args, side=-1)),
    Mistake("your blind spot reaches beyond the field's bounding box: near the top border the "
            "field cannot reach as far right (a step right costs a row up), and the box, with "
            "its blind spot, shrinks.", lambda c: wedge(*c.args, clip_top=False)),
]


def explain_blind(got, case):
    target, size, n = case.args
    g = got != 0
    if (g & ~past(target, size)).any():
        return ("your blind spot holds pixels that are not before the target: it is the part of "
                "the past the model should see but cannot.")
    if (g & analytic_field("masked", target, size, n)).any():
        return "your blind spot includes pixels that the field reaches."
    if (case.expected & ~g).any():
        return "your blind spot misses earlier pixels that no path reaches."
    return "your blind spot holds pixels outside the field's bounding box."


def judge_blind_spot(fn):
    return judge(fn, "my_blind_spot", blind_cases, compare_exact, BLIND_MISTAKES, explain_blind,
                 "your prediction equals the library's blind spot of the analytic field.")


def check_blind_spot(fn):
    """Chapter 3: `my_blind_spot(target, image_size, n_layers)` -> bool [H, W], 3x3 kernels."""
    report(judge_blind_spot(fn))
