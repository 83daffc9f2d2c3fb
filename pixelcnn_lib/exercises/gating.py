"""Chapter 5 checks (the gate, a gated block's forward pass) and chapter 6 (the whole model's
forward pass, the class-conditional bias inside the gate)."""
import torch
import torch.nn as nn

from ..layers import Gate, GatedBlock, down_shift
from ..masks import channel_groups
from ..models import GatedPixelCNN
from .core import Case, Mistake, compare_close, compare_tuple, judge, report, seeded

# ----------------------------------------------------------------------------- the gate


def gate_cases():
    with seeded(5):
        specs = [("one pair of channels", torch.randn(2, 2, 3, 3)),
                 ("6 channels (3 pairs)", torch.randn(2, 6, 4, 5)),
                 ("large pre-activations", 8 * torch.randn(1, 4, 3, 3)),
                 ("3 images, 10 channels", torch.randn(3, 10, 2, 2))]
    for name, x in specs:
        x = x.double()
        yield Case(name, (x,), Gate()(x))


def _halves(c, interleaved=False):
    x = c.args[0]
    return (x[:, 0::2], x[:, 1::2]) if interleaved else x.chunk(2, dim=1)


GATE_MISTAKES = [
    Mistake("you swapped the halves: the first half is the feature (tanh), the second the gate "
            "(sigmoid).", lambda c: torch.sigmoid(_halves(c)[0]) * torch.tanh(_halves(c)[1])),
    Mistake("you pair neighbouring channels (0 with 1, 2 with 3, ...): the gate pairs channel k "
            "of the first half with channel k of the second half.",
            lambda c: torch.tanh(_halves(c, True)[0]) * torch.sigmoid(_halves(c, True)[1])),
    Mistake("both factors use tanh: the gate is a sigmoid, a number in (0, 1).",
            lambda c: torch.tanh(_halves(c)[0]) * torch.tanh(_halves(c)[1])),
    Mistake("both factors use a sigmoid: the feature is a tanh, a number in (-1, 1).",
            lambda c: torch.sigmoid(_halves(c)[0]) * torch.sigmoid(_halves(c)[1])),
    Mistake("the feature goes through a ReLU: in the gated PixelCNN it is a tanh.",
            lambda c: torch.relu(_halves(c)[0]) * torch.sigmoid(_halves(c)[1])),
]


def judge_gate(fn):
    return judge(fn, "my_gate", gate_cases, compare_close, GATE_MISTAKES,
                 passed="your gate equals the library's `Gate`.")


def check_gate(fn):
    """Chapter 5: `my_gate(x)` -> tanh(first half) * sigmoid(second half), over channels."""
    report(judge_gate(fn))


# ----------------------------------------------------------------------------- a gated block


def random_block(channels, kernel_size, n_colors=1, dilation=1, n_classes=None, seed=0):
    """A type-B GatedBlock in float64 with random weights and biases (none left at zero)."""
    with seeded(seed):
        groups = channel_groups(channels, n_colors)
        block = GatedBlock(channels, channels, kernel_size, "B", groups, n_colors, n_classes,
                           dilation=dilation).double()
        for p in block.parameters():
            nn.init.normal_(p, 0, 0.5)
    return block


def block_cases():
    specs = [("3x3, 4 channels", 4, 3, 1, 1, (2, 6, 7)), ("5x5, dilation 2", 4, 5, 1, 2, (1, 8, 8)),
             ("RGB groups, 6 channels", 6, 3, 3, 1, (2, 5, 5)), ("one row", 4, 3, 1, 1, (1, 1, 6))]
    for n, (name, ch, k, colors, d, (b, h, w)) in enumerate(specs):
        block = random_block(ch, k, colors, d, seed=40 + n)
        with seeded(50 + n):
            v = torch.randn(b, ch, h, w, dtype=torch.float64)
            hh = torch.randn(b, ch, h, w, dtype=torch.float64)
        with torch.no_grad():
            expected = block(v, hh)
        yield Case(name, (block, v, hh), expected)


def block_variant(c, link="shifted", residual=True, skip_from="gated", v_gated=True):
    """The block's forward pass with one thing changed (the usual mistakes)."""
    b, v, h = c.args
    gate = Gate()
    v_pre = b.v_conv(v)
    link_value = {"shifted": lambda: b.v_to_h(down_shift(v_pre)),
                  "unshifted": lambda: b.v_to_h(v_pre),
                  "shift after": lambda: down_shift(b.v_to_h(v_pre))}[link]()
    gated = gate(b.h_conv(h) + link_value)
    new_h = b.h_out(gated) + (h if residual else 0)
    skip = b.skip(new_h if skip_from == "h" else gated)
    return gate(v_pre) if v_gated else v_pre, new_h, skip


BLOCK_MISTAKES = [
    Mistake("the link adds the vertical stack without the down-shift: pixel (i, j) would then "
            "see row i of the vertical stack, which reads pixels right of (i, j).",
            lambda c: block_variant(c, link="unshifted")),
    Mistake("you shift after the 1x1 link; the library shifts first, so row 0 receives the "
            "link's bias (a 1x1 convolution and a shift commute except for the bias).",
            lambda c: block_variant(c, link="shift after")),
    Mistake("your new h misses the residual: add the block's input h to h_out(gated).",
            lambda c: block_variant(c, residual=False)),
    Mistake("the skip reads the gated activation, not the new h.",
            lambda c: block_variant(c, skip_from="h")),
    Mistake("your vertical output is its pre-activation: the vertical stack goes through the "
            "gate too.", lambda c: block_variant(c, v_gated=False)),
]


def judge_gated_block(fn):
    return judge(fn, "my_gated_block", block_cases, compare_tuple(("v", "h", "skip")),
                 BLOCK_MISTAKES, passed="your forward pass equals `GatedBlock.forward`.")


def check_gated_block(fn):
    """Chapter 5: `my_gated_block(block, v, h)` -> (v, h, skip) of a type-B gated block."""
    report(judge_gated_block(fn))


# ----------------------------------------------------------------------------- chapter 6


def random_model(in_channels, levels, hidden, n_layers, n_classes=None, dilations=None, seed=0):
    with seeded(seed):
        model = GatedPixelCNN(in_channels, levels, hidden_channels=hidden, n_layers=n_layers,
                              n_classes=n_classes, dilations=dilations).double().eval()
        for p in model.parameters():
            nn.init.normal_(p, 0, 0.3)
    return model


def forward_cases():
    specs = [("greyscale, 4 levels, 3 classes", 1, 4, 4, 3, 3, None, (2, 5, 6)),
             ("RGB, 3 levels", 3, 3, 6, 3, None, None, (2, 4, 4)),
             ("dilations 1, 2, 1, 2", 1, 5, 4, 5, 2, [1, 2, 1, 2], (1, 7, 7))]
    for n, (name, cin, levels, hidden, layers, classes, dil, (b, h, w)) in enumerate(specs):
        model = random_model(cin, levels, hidden, layers, classes, dil, seed=60 + n)
        with seeded(70 + n):
            x = torch.randint(0, levels, (b, cin, h, w))
            y = torch.randint(0, classes, (b,)) if classes else None
        with torch.no_grad():
            expected = model(x, y)
        yield Case(name, (model, x, y), expected)


def forward_variant(c, scale=True, to_head="skips", layout="CL"):
    model, x, y = c.args
    xs = model.scale(x) if scale else x.double()
    v, h, _ = model.causal(xs, xs)
    skips, last = 0, None
    for block in model.blocks:
        v, h, last = block(v, h, y)
        skips = skips + last
    out = model.head({"skips": skips, "h": h, "last": last}[to_head])
    b, _, H, W = out.shape
    C, L = model.in_channels, model.color_levels
    if layout == "LC":
        return out.view(b, L, C, H, W)
    return out.view(b, C, L, H, W).transpose(1, 2)


FORWARD_MISTAKES = [
    Mistake("you feed the raw levels: scale them to [-1, 1] first, with `model.scale`.",
            lambda c: forward_variant(c, scale=False)),
    Mistake("you send the last h to the head; the head reads the sum of the skips of all gated "
            "blocks.", lambda c: forward_variant(c, to_head="h")),
    Mistake("you keep only the last block's skip: sum the skips of all gated blocks.",
            lambda c: forward_variant(c, to_head="last")),
    Mistake("your logits are in the wrong layout: the head's channels come colour by colour "
            "(all levels of R, then of G, then of B), so view them as [B, C, L, H, W] and then "
            "move L to dim 1.", lambda c: forward_variant(c, layout="LC")),
]


def judge_forward(fn):
    return judge(fn, "my_forward", forward_cases, compare_close, FORWARD_MISTAKES,
                 passed="your forward pass gives the model's own logits.")


def check_forward(fn):
    """Chapter 6: `my_forward(model, x, y)` -> logits [B, L, C, H, W] from the model's parts."""
    report(judge_forward(fn))


def conditional_cases():
    specs = [("2 images, 2 classes, 1 gate pair", 2, 2, 1),
             ("4 images, 10 classes, 3 pairs", 4, 10, 3),
             ("one image", 1, 3, 2), ("the same label twice", 2, 5, 2)]
    for n, (name, b, classes, pairs) in enumerate(specs):
        with seeded(80 + n):
            table = nn.Embedding(classes, 2 * pairs).double()
            pre = torch.randn(b, 2 * pairs, 3, 4, dtype=torch.float64)
            y = torch.full((b,), classes - 1) if "same" in name else torch.randint(0, classes, (b,))
        with torch.no_grad():  # exactly the expression inside GatedBlock.forward
            expected = Gate()(pre + table(y)[:, :, None, None])
        yield Case(name, (pre, y, table), expected)


def _bias(c):
    pre, y, table = c.args
    return table(y)[:, :, None, None]


CONDITIONAL_MISTAKES = [
    Mistake("you add the class bias after the gate: it belongs inside, before tanh and sigmoid, "
            "so that a class can open or close gates.",
            lambda c: Gate()(c.args[0]) + _bias(c)[:, :c.args[0].shape[1] // 2]),
    Mistake("your bias reaches only the feature half: the table holds 2n numbers per class, for "
            "both halves.",
            lambda c: torch.tanh(c.args[0].chunk(2, 1)[0] + _bias(c).chunk(2, 1)[0])
            * torch.sigmoid(c.args[0].chunk(2, 1)[1])),
    Mistake("your output does not depend on the label.", lambda c: Gate()(c.args[0])),
]


def judge_conditional_gate(fn):
    return judge(fn, "my_conditional_gate", conditional_cases, compare_close,
                 CONDITIONAL_MISTAKES,
                 passed="your gate adds the class bias where `GatedBlock` adds it.")


def check_conditional_gate(fn):
    """Chapter 6: `my_conditional_gate(pre, y, table)` -> the gate with a per-class bias inside."""
    report(judge_conditional_gate(fn))
