"""Chapter 1 checks: the log-likelihood of an image by the chain rule, and bits per dimension."""
import math

import torch
import torch.nn.functional as F

from ..models import FullyVisibleModel
from .. import evaluate  # the public one, wherever it lives
from .core import Case, Mistake, compare_close, judge, report, seeded

# ----------------------------------------------------------------------------- log p(x)


def reference_log_prob(logits, x):
    """The library's loss, per image: minus the summed cross-entropy of every sub-pixel."""
    return -F.cross_entropy(logits.double(), x, reduction="none").sum(dim=(1, 2, 3))


def all_images(channels, size, levels):
    """Every image of a tiny world, [levels ** (C*H*W), C, H, W], in counting order."""
    n = channels * size[0] * size[1]
    codes = torch.arange(levels ** n)
    digits = torch.stack([(codes // levels ** (n - 1 - k)) % levels for k in range(n)], dim=1)
    return digits.view(-1, channels, *size)


def random_world(channels, levels, size, seed):
    """A FullyVisibleModel with large random weights: its conditionals differ a lot."""
    with seeded(seed):
        model = FullyVisibleModel(channels, levels, size)
        model.linear.weight.data.normal_(0, 2.0).mul_(model.linear.mask)
        model.linear.bias.data.normal_(0, 1.0)
    return model


def log_prob_cases():
    with seeded(1):
        logits = 2 * torch.randn(3, 4, 1, 2, 3, dtype=torch.float64)
        x = torch.randint(0, 4, (3, 1, 2, 3))
    yield Case("random logits, 4 levels", (logits, x), reference_log_prob(logits, x))
    for name, channels, levels, size in [("the 2x2 binary world, all 16 images", 1, 2, (2, 2)),
                                         ("one RGB pixel, 3 levels, all 27 images", 3, 3, (1, 1))]:
        model = random_world(channels, levels, size, seed=2)
        x = all_images(channels, size, levels)
        with torch.no_grad():
            logits = model(x).double()
        yield Case(name, (logits, x), reference_log_prob(logits, x), {"enumerated": True})
    yield Case("one image", (logits[:1], x[:1]), reference_log_prob(logits[:1], x[:1]))


def _picked(log_p, x):
    return log_p.gather(1, x[:, None]).squeeze(1)


LOG_PROB_MISTAKES = [
    Mistake("you average the log conditionals over the sub-pixels: the chain rule multiplies "
            "the conditionals, so their logarithms add. Sum them.",
            lambda c: reference_log_prob(*c.args) / c.args[1][0].numel()),
    Mistake("you return -log p(x), the loss; the exercise asks for log p(x) (a negative number).",
            lambda c: -reference_log_prob(*c.args)),
    Mistake("you return p(x); the exercise asks for its logarithm, log p(x).",
            lambda c: reference_log_prob(*c.args).exp()),
    Mistake("you use log base 2 (bits); the exercise asks for nats (the natural logarithm).",
            lambda c: reference_log_prob(*c.args) / math.log(2)),
    Mistake("you pick the raw logits: turn them into log-probabilities first, with "
            "log_softmax over the levels (dim 1).",
            lambda c: _picked(c.args[0], c.args[1]).sum(dim=(1, 2, 3))),
    Mistake("you normalise over the wrong dimension: the levels are dim 1 of the logits "
            "[B, L, C, H, W].",
            lambda c: _picked(torch.log_softmax(c.args[0], dim=2), c.args[1]).sum(dim=(1, 2, 3))),
]


def explain_log_prob(got, case):
    if case.context.get("enumerated") and got.shape == case.expected.shape:
        total = got.double().exp().sum().item()
        return (f"over all {len(got)} images of this tiny world your probabilities sum to "
                f"{total:.4g}, not 1: a product of conditionals is a distribution over images.")
    return None


def judge_log_prob(fn):
    return judge(fn, "my_log_prob", log_prob_cases, compare_close, LOG_PROB_MISTAKES,
                 explain_log_prob, "your log p(x) equals the library's loss, and over every image "
                                   "of the tiny worlds exp(log p(x)) sums to 1.")


def check_log_prob(fn):
    """Chapter 1: `my_log_prob(logits, x)` -> log p(x) per image, in nats."""
    report(judge_log_prob(fn))


# ----------------------------------------------------------------------------- bits/dim


def batches_of(model, images, batch_size):
    """What the reader gets: [(logits, x)] batch by batch, as `evaluate` sees them."""
    with torch.no_grad():
        return [(model(images[i:i + batch_size].long()), images[i:i + batch_size].long())
                for i in range(0, len(images), batch_size)]


def bits_cases():
    specs = [("one batch of 2x2 binary images", 1, 2, (2, 2), 6, 6),
             ("uneven last batch (4 images, then 1)", 1, 2, (2, 2), 5, 4),
             ("RGB images, 4 levels, batches of 2", 3, 4, (2, 3), 5, 2)]
    for k, (name, channels, levels, size, n, batch_size) in enumerate(specs):
        model = random_world(channels, levels, size, seed=10 + k)
        with seeded(20 + k):
            images = torch.randint(0, levels, (n, channels, *size), dtype=torch.uint8)
        if "uneven" in name:
            images[-1] = levels - 1  # an all-ink image: its likelihood differs from the others'
        expected = evaluate(model, images, batch_size=batch_size)["bits_per_dim"]
        yield Case(name, (batches_of(model, images, batch_size),), torch.tensor(expected))


def _nats_and_dims(batches):
    return [(F.cross_entropy(lg.double(), x, reduction="sum").item(), x.numel(), x[0].numel())
            for lg, x in batches]


def _wrong_bits(case, how):
    parts = _nats_and_dims(case.args[0])
    nats, dims = sum(p[0] for p in parts), sum(p[1] for p in parts)
    images = sum(p[1] // p[2] for p in parts)
    pixels = dims // case.args[0][0][1].shape[1]
    value = {"batch means": sum(p[0] / (p[1] * math.log(2)) for p in parts) / len(parts),
             "nats": nats / dims,
             "pixels": nats / (pixels * math.log(2)),
             "per image": nats / (images * math.log(2))}[how]
    return torch.tensor(value)


BITS_MISTAKES = [
    Mistake("you average the batches' bits/dim, so the small last batch counts as much as a full "
            "one. Sum the nats over all batches, then divide once by the total number of "
            "sub-pixels.", lambda c: _wrong_bits(c, "batch means")),
    Mistake("you return nats per dimension: divide by ln 2 to get bits (1 nat = 1/ln 2 bits).",
            lambda c: _wrong_bits(c, "nats")),
    Mistake("you divide by the number of pixels; divide by the number of sub-pixels (an RGB "
            "pixel has 3 dimensions).", lambda c: _wrong_bits(c, "pixels")),
    Mistake("you return bits per image: divide by the dimensions of each image too.",
            lambda c: _wrong_bits(c, "per image")),
]


def compare_number(got, expected, what="your result"):
    """One number (a Python float or a one-element tensor), allclose in float64."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        return f"{what} should be one number, got {type(got).__name__}"
    if not math.isfinite(value):
        return f"{what} is {value}"
    return None if math.isclose(value, float(expected), rel_tol=1e-5, abs_tol=1e-8) else "differs"


def judge_bits_per_dim(fn):
    return judge(fn, "my_bits_per_dim", bits_cases, compare_number, BITS_MISTAKES,
                 passed="your number equals `evaluate`'s bits/dim, uneven last batch included.")


def check_bits_per_dim(fn):
    """Chapter 1: `my_bits_per_dim(batches)` -> bits per dimension of a whole test set."""
    report(judge_bits_per_dim(fn))
