"""A straightforward gated PixelCNN, the baseline the library's training step is measured against.

Written the way most public implementations are: float32, NCHW, one full masked k x k kernel
for the vertical stack (rows below the centre zeroed) and a masked 1 x k kernel for the
horizontal stack (taps right of the centre zeroed), masks multiplied into the weights on
every forward, separate 1x1 convs. Same width, depth, heads and labels as the chapter-6
model; greyscale only (C = 1), which is all the benchmark needs.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MaskedConv2d(nn.Conv2d):
    """Symmetrically padded conv whose weight is multiplied by a fixed 0/1 mask each forward."""

    def __init__(self, cin, cout, kh, kw, mask):
        super().__init__(cin, cout, (kh, kw), padding=(kh // 2, kw // 2))
        self.register_buffer("mask", mask.expand_as(self.weight).clone())

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


def vertical_mask(k):
    m = torch.ones(k, k)
    m[k // 2 + 1:] = 0  # rows below the centre; the centre row is seen, hence the down-shift
    return m


def horizontal_mask(k, include_centre):
    m = torch.ones(1, k)
    m[0, k // 2 + (1 if include_centre else 0):] = 0
    return m


class RefBlock(nn.Module):
    def __init__(self, cin, h, k, first, n_classes):
        super().__init__()
        self.first = first
        self.v = MaskedConv2d(cin, 2 * h, k, k, vertical_mask(k))
        self.h = MaskedConv2d(cin, 2 * h, 1, k, horizontal_mask(k, not first))
        self.v_to_h = nn.Conv2d(2 * h, 2 * h, 1)
        if not first:
            self.label_v = nn.Embedding(n_classes, 2 * h)
            self.label_h = nn.Embedding(n_classes, 2 * h)
            self.res = nn.Conv2d(h, h, 1)
            self.skip = nn.Conv2d(h, h, 1)

    @staticmethod
    def gate(x):
        a, b = x.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

    def forward(self, v, h, y):
        v_pre = self.v(v)
        shifted = F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1]
        h_pre = self.h(h) + self.v_to_h(shifted)
        if not self.first:
            v_pre = v_pre + self.label_v(y)[:, :, None, None]
            h_pre = h_pre + self.label_h(y)[:, :, None, None]
        g = self.gate(h_pre)
        if self.first:
            return self.gate(v_pre), g, None
        return self.gate(v_pre), h + self.res(g), self.skip(g)


class ReferenceGatedPixelCNN(nn.Module):
    def __init__(self, color_levels=256, hidden_channels=64, n_layers=15, n_classes=10):
        super().__init__()
        self.L = self.color_levels = color_levels
        h = hidden_channels
        self.blocks = nn.ModuleList([RefBlock(1, h, 7, True, n_classes)]
                                    + [RefBlock(h, h, 3, False, n_classes) for _ in range(n_layers - 1)])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(h, h, 1), nn.ReLU(), nn.Conv2d(h, color_levels, 1))

    def forward(self, x, y):
        x = x.to(self.head[1].weight.dtype) * (2.0 / (self.L - 1)) - 1.0
        v, h = x, x
        skips = 0
        for block in self.blocks:
            v, h, s = block(v, h, y)
            if s is not None:
                skips = skips + s
        return self.head(skips)[:, :, None]  # [B, L, 1, H, W]
