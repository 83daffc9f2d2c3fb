"""The three training recipes the time-to-quality benchmark races: model, optimizer, schedule.

tutorial  the gated PixelCNN of the UvA deep-learning course (tutorial 12), written here from its
          published description (no code copied): masked 3x3 vertical and 1x3 horizontal kernels,
          the first convolutions with their centre masked, 7 gated blocks of 64 channels with
          dilations 1,2,1,4,1,2,1, no skip connections, ELU then a 1x1 convolution to 256 logits;
          Adam 1e-3, batch 128, learning rate x0.99 per epoch, no warmup, no clipping.
original  the defaults of the project this book grew from, built from the library's layers: a 7x7
          causal block and 6 gated blocks of 30 channels (skip and head width 30: the project's
          head width is not recorded, so the library's default, the hidden width, is used);
          Adam 1e-4, batch 32, constant learning rate, gradient norm clipped at 1.
library   the library's recipe for a CPU: see LIBRARY below and benchmarks/recipe_search.py.

All three are unconditional models of 256-level greyscale images ([B, 1, H, W] uint8 levels in,
logits [B, 256, 1, H, W] out), so their test bits/dim are directly comparable.
"""
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from pixelcnn_lib.models import AutoregressiveImageModel, GatedPixelCNN

LEVELS = 256


# ----------------------------------------------------------------------------- the tutorial's model

def vertical_mask(k, centre_row):
    """k x k: the rows above the centre, plus the centre row itself when `centre_row`."""
    mask = torch.zeros(k, k)
    mask[:k // 2 + (1 if centre_row else 0)] = 1
    return mask


def horizontal_mask(k, centre):
    """1 x k: the taps left of the centre, plus the centre tap itself when `centre`."""
    mask = torch.zeros(1, k)
    mask[0, :k // 2 + (1 if centre else 0)] = 1
    return mask


class MaskedConv2d(nn.Conv2d):
    """'Same'-padded convolution whose full kernel is multiplied by a fixed 0/1 mask on every call.

    The masked taps are still stored (and counted in the published parameter total) and still
    computed: that is how the tutorial's recipe spends its FLOPs.
    """

    def __init__(self, cin, cout, mask, dilation=1):
        kh, kw = mask.shape
        super().__init__(cin, cout, (kh, kw), dilation=dilation,
                         padding=(dilation * (kh // 2), dilation * (kw // 2)))
        self.register_buffer("mask", mask.expand_as(self.weight).clone(), persistent=False)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding,
                        dilation=self.dilation)


def gate(x):
    value, gate_ = x.chunk(2, dim=1)
    return torch.tanh(value) * torch.sigmoid(gate_)


class TutorialGatedLayer(nn.Module):
    """Vertical conv -> gate; horizontal conv + 1x1 of the vertical features -> gate -> 1x1,
    added to the horizontal input (residual).

    The vertical stack needs no down-shift: the first vertical convolution already hid the
    centre row, so its features at row i only ever summarise rows < i.
    """

    def __init__(self, channels, dilation=1, kernel_size=3):
        super().__init__()
        c = channels
        self.vertical = MaskedConv2d(c, 2 * c, vertical_mask(kernel_size, True), dilation)
        self.horizontal = MaskedConv2d(c, 2 * c, horizontal_mask(kernel_size, True), dilation)
        self.vertical_to_horizontal = nn.Conv2d(2 * c, 2 * c, 1)
        self.horizontal_out = nn.Conv2d(c, c, 1)

    def forward(self, v, h):
        v_pre = self.vertical(v)
        h_pre = self.horizontal(h) + self.vertical_to_horizontal(v_pre)
        return gate(v_pre), h + self.horizontal_out(gate(h_pre))


class TutorialPixelCNN(AutoregressiveImageModel):
    """The tutorial's gated PixelCNN for greyscale images (852,160 stored parameters at 64)."""

    def __init__(self, color_levels=LEVELS, hidden_channels=64, dilations=(1, 2, 1, 4, 1, 2, 1),
                 kernel_size=3):
        super().__init__(1, color_levels, None, dict(
            color_levels=color_levels, hidden_channels=hidden_channels,
            dilations=list(dilations), kernel_size=kernel_size))
        c, k = hidden_channels, kernel_size
        self.first_vertical = MaskedConv2d(1, c, vertical_mask(k, False))
        self.first_horizontal = MaskedConv2d(1, c, horizontal_mask(k, False))
        self.layers = nn.ModuleList(TutorialGatedLayer(c, d, k) for d in dilations)
        self.out = nn.Conv2d(c, color_levels, 1)

    def logits_from_float(self, x, y=None):
        v, h = self.first_vertical(x), self.first_horizontal(x)
        for layer in self.layers:
            v, h = layer(v, h)
        return self.to_logits(self.out(F.elu(h)))


def stored_parameters(model):
    """Every stored number, masked taps included: the count the tutorial publishes."""
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- recipes

@dataclass
class Recipe:
    """How one contender trains: everything the benchmark loop needs, plus a record for the JSON.

    `lr(step, fraction, steps_per_epoch)` is the learning rate of the coming step, given the
    steps taken and the fraction of the wall-clock budget already used (time-based schedules
    such as cosine need the budget; the benchmark knows it in advance).
    """
    name: str
    label: str
    batch_size: int
    build: Callable[[], nn.Module]
    optimizer: Callable[[list], torch.optim.Optimizer]
    lr: Callable[[int, float, int], float]
    clip_grad: Optional[float] = None
    ema_decay: Optional[float] = None
    settings: dict = field(default_factory=dict)


def warmup_cosine(base_lr, warmup_fraction, final_fraction=0.0):
    """Linear warmup over the first `warmup_fraction` of the time budget, then cosine from
    base_lr to base_lr * final_fraction at the end of the budget.

    Both parts are measured in budget, not steps: a recipe raced for T seconds does not know
    in advance how many steps it will take (the first step gets a small positive rate)."""
    def lr(step, fraction, steps_per_epoch):
        fraction = min(1.0, fraction)
        if fraction < warmup_fraction:
            return base_lr * max(fraction / warmup_fraction, 0.01)
        progress = (fraction - warmup_fraction) / (1.0 - warmup_fraction)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return base_lr * (final_fraction + (1.0 - final_fraction) * cosine)
    return lr


def tutorial(quick=False):
    hidden, batch = (8, 16) if quick else (64, 128)
    return Recipe(
        name="tutorial", label="tutorial (UvA DL 12)", batch_size=batch,
        build=lambda: TutorialPixelCNN(LEVELS, hidden),
        optimizer=lambda params: torch.optim.Adam(params, lr=1e-3),
        lr=lambda step, fraction, steps_per_epoch: 1e-3 * 0.99 ** (step // steps_per_epoch),
        settings=dict(model="TutorialPixelCNN (benchmarks/recipes.py)", hidden_channels=hidden,
                      gated_layers=7, dilations=[1, 2, 1, 4, 1, 2, 1], kernels="masked 3x3 / 1x3",
                      skip_connections=False, optimizer="Adam", lr=1e-3,
                      schedule="lr x0.99 per epoch", warmup=False, batch_size=batch,
                      clip_grad=None, ema=None))


def original(quick=False):
    hidden = 8 if quick else 30
    config = dict(hidden_channels=hidden, n_layers=7, causal_kernel_size=7, kernel_size=3)
    return Recipe(
        name="original", label="original project", batch_size=32 if not quick else 16,
        build=lambda: GatedPixelCNN(1, LEVELS, **config),
        optimizer=lambda params: torch.optim.Adam(params, lr=1e-4),
        lr=lambda step, fraction, steps_per_epoch: 1e-4, clip_grad=1.0,
        settings=dict(model="GatedPixelCNN", **config, skip_channels=hidden, head_channels=hidden,
                      head_width_note="not recorded by the project; the library default used",
                      optimizer="Adam", lr=1e-4, schedule="constant", warmup=False,
                      batch_size=32 if not quick else 16, clip_grad=1.0, ema=None))


# The library's recipe for a CPU, chosen with benchmarks/recipe_search.py (results and the
# reasoning in book/data/time_to_quality_search.json). At equal CPU time on one thread, batch 8
# beat 16 and 32 at every size tried (as many images per second, 2-4x the steps); the smallest
# model (16 channels, 5 layers) led at 1-2 CPU minutes, but its lead over 32 x 8 shrank from 0.032
# to 0.025 bits/dim between 60 and 120 CPU seconds (and to 0.012 half-way through a 240 s run that
# was stopped), and 32 x 8 uses a second thread better (1.43x vs 1.18x): for budgets of 10-30
# minutes on 2 threads 32 x 8 is the pick, an extrapolation. EMA (decays 0.99-0.999, warm-up
# rule) changed bits/dim by < 0.001 when the rate anneals to zero, so it is left out.
LIBRARY = dict(
    model=dict(hidden_channels=32, n_layers=8, causal_kernel_size=7, kernel_size=3,
               skip_channels=32, head_channels=32, dilations=[1, 2, 1, 4, 1, 2, 1]),
    batch_size=8, lr=5e-3, weight_decay=0.0, warmup_fraction=0.05, final_lr_fraction=0.0,
    clip_grad=1.0, ema_decay=None)


def library(quick=False, settings=None):
    s = dict(LIBRARY if settings is None else settings)
    model = dict(s["model"])
    if quick:
        model.update(hidden_channels=8, skip_channels=8, head_channels=8)
    batch = s["batch_size"]
    return Recipe(
        name="library", label="library", batch_size=batch,
        build=lambda: GatedPixelCNN(1, LEVELS, **model),
        optimizer=lambda params: torch.optim.AdamW(params, lr=s["lr"],
                                                   weight_decay=s["weight_decay"]),
        lr=warmup_cosine(s["lr"], s["warmup_fraction"], s["final_lr_fraction"]),
        clip_grad=s["clip_grad"], ema_decay=s["ema_decay"],
        settings=dict(model="GatedPixelCNN", **model, optimizer="AdamW", lr=s["lr"],
                      weight_decay=s["weight_decay"],
                      schedule=f"linear warmup over {s['warmup_fraction']:g} of the time budget, "
                               f"then cosine to {s['final_lr_fraction']:g} x lr at its end",
                      warmup=s["warmup_fraction"], batch_size=batch, clip_grad=s["clip_grad"],
                      ema=s["ema_decay"]))


def all_recipes(quick=False):
    return [tutorial(quick), original(quick), library(quick)]
