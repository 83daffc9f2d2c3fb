"""The building blocks: causal convolutions, the gate, and the gated two-stack block.

Spatial causality comes from *where* a kernel sits (padding only above and to the
left, then a one-row down-shift for the vertical stack); colour causality comes from a
small mask on the centre tap. Masks multiply the weight inside `forward`
(`weight * mask`), so the stored parameters are never edited and masked taps get no
gradient.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .masks import causal_mask, channel_groups, check_kernel_size, check_mask_type


class CausalConv2d(nn.Conv2d):
    """A convolution with explicit (left, right, top, bottom) zero padding and an optional mask."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=(0, 0, 0, 0),
                 mask=None, dilation=1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.pad = tuple(padding)
        if mask is not None and bool(mask.all()):
            mask = None  # nothing to hide: skip the multiply
        self.register_buffer("mask", mask, persistent=False)

    def masked_weight(self):
        return self.weight if self.mask is None else self.weight * self.mask

    def forward(self, x):
        if any(self.pad):
            x = F.pad(x, self.pad)
        return F.conv2d(x, self.masked_weight(), self.bias, dilation=self.dilation)


def masked_conv(in_channels, out_channels, kernel_size, mask_type, in_groups, out_groups,
                dilation=1):
    """Square k x k kernel, centred, future taps (and centre per colour rule) zeroed."""
    r = check_kernel_size(kernel_size) // 2 * dilation
    mask = causal_mask(kernel_size, mask_type, in_groups, out_groups)
    return CausalConv2d(in_channels, out_channels, kernel_size, (r, r, r, r), mask, dilation)


def vertical_conv(in_channels, out_channels, kernel_size, dilation=1):
    """(k//2 + 1) x k kernel over the rows above and the current row: no mask needed.

    Its output at row i sees rows <= i (all of row i!), so it may only reach the
    horizontal stack after `down_shift`.
    """
    r = check_kernel_size(kernel_size) // 2
    d = dilation
    return CausalConv2d(in_channels, out_channels, (r + 1, kernel_size), (r * d, r * d, r * d, 0),
                        dilation=d)


def horizontal_conv(in_channels, out_channels, kernel_size, mask_type, in_groups, out_groups,
                    dilation=1):
    """1 x (k//2 + 1) kernel over the pixels to the left and the current pixel.

    Only the last tap (the current pixel) is masked, by the colour rule of `mask_type`.
    """
    r = check_kernel_size(kernel_size) // 2
    mask = causal_mask((1, r + 1), mask_type, in_groups, out_groups, centre=(0, r))
    return CausalConv2d(in_channels, out_channels, (1, r + 1), (r * dilation, 0, 0, 0), mask,
                        dilation)


def pointwise_conv(in_channels, out_channels, in_groups, out_groups):
    """1 x 1 convolution that respects colour groups (type B: same or earlier group)."""
    mask = causal_mask((1, 1), "B", in_groups, out_groups, centre=(0, 0))
    return CausalConv2d(in_channels, out_channels, 1, mask=mask)


def mirrored_init(conv, out_groups):
    """Make the first two output channels of each colour group a pair (w, -w) with zero bias.

    For a layer that feeds a ReLU: one channel of the pair is positive for every input, so
    no colour group starts dead. (With PyTorch's default init and 3-5 channels per group, the
    biases can keep a whole group negative for every input; G and B then never learn from
    the current R.) relu(u) and relu(-u) together keep u whole, as a CReLU does (Shang et al.
    2016, arXiv 1603.05201). Layers given the same groups get the same pairs, so their sum
    is paired too. The other channels keep PyTorch's init.
    """
    with torch.no_grad():
        for group in out_groups.unique():
            rows = (out_groups == group).nonzero().flatten()
            if len(rows) >= 2:
                conv.weight[rows[1]] = -conv.weight[rows[0]]
                conv.bias[rows[:2]] = 0


def down_shift(x):
    """Move every row one down (zeros enter at the top): row i then holds row i - 1."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1, :]


class Gate(nn.Module):
    """tanh(f) * sigmoid(g) over the two channel halves: a multiplicative, LSTM-like gate."""

    def forward(self, x):
        f, g = x.chunk(2, dim=1)
        return torch.tanh(f) * torch.sigmoid(g)


class GatedBlock(nn.Module):
    """One layer of the gated PixelCNN: vertical stack, horizontal stack, link, gate.

    mask_type "A" makes the causal (first) block: the horizontal stack may not read the
    current pixel's own colour group, and there is no residual, skip or label bias.
    `two_stacks=False` replaces both stacks by one masked k x k convolution (blind spot
    and all); `gated=False` replaces the gate by a ReLU. Both exist for the ablations.
    """

    def __init__(self, in_channels, channels, kernel_size, mask_type, in_groups, n_colors,
                 n_classes=None, skip_channels=None, dilation=1, gated=True, two_stacks=True):
        super().__init__()
        check_mask_type(mask_type)
        self.first = mask_type == "A"
        self.two_stacks = two_stacks
        groups = channel_groups(channels, n_colors)
        # show: the two stacks
        pre_channels = 2 * channels if gated else channels
        pre_groups = torch.cat([groups, groups]) if gated else groups
        self.act = Gate() if gated else nn.ReLU()
        if two_stacks:
            self.v_conv = vertical_conv(in_channels, pre_channels, kernel_size, dilation)
            self.v_act = Gate() if gated else nn.ReLU()
            self.h_conv = horizontal_conv(in_channels, pre_channels, kernel_size, mask_type,
                                          in_groups, pre_groups, dilation)
            # The vertical stack only ever holds the past once shifted: no mask on the link.
            self.v_to_h = nn.Conv2d(pre_channels, pre_channels, 1)
        else:
            self.h_conv = masked_conv(in_channels, pre_channels, kernel_size, mask_type,
                                      in_groups, pre_groups, dilation)
        self.label_h = self.label_v = None
        self.h_out = self.skip = None
        if not self.first:
            if n_classes:
                self.label_h = nn.Embedding(n_classes, pre_channels)
                if two_stacks:
                    self.label_v = nn.Embedding(n_classes, pre_channels)
            self.h_out = pointwise_conv(channels, channels, groups, groups)
            skip_channels = skip_channels or channels
            self.skip = pointwise_conv(channels, skip_channels, groups,
                                       channel_groups(skip_channels, n_colors))

    def forward(self, v, h, y=None):
        """Returns (v, h, skip); v is None without two stacks, skip None in the first block."""
        h_pre = self.h_conv(h)
        if self.two_stacks:
            v_pre = self.v_conv(v)
            h_pre = h_pre + self.v_to_h(down_shift(v_pre))
            if self.label_v is not None:
                v_pre = v_pre + self.label_v(y)[:, :, None, None]
            v = self.v_act(v_pre)
        if self.label_h is not None:
            h_pre = h_pre + self.label_h(y)[:, :, None, None]
        gated = self.act(h_pre)
        if self.first:
            return v, gated, None
        return v, h + self.h_out(gated), self.skip(gated)
        # end show: the two stacks
