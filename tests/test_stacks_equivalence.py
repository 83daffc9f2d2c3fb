"""The shifted/cropped stacks in layers.py are the masked-kernel stacks of the paper, exactly.

The library builds the vertical stack from a (k//2 + 1) x k kernel padded only above, and the
horizontal stack from a 1 x (k//2 + 1) kernel padded only on the left. The "masked" way to say the
same thing is a full k x k kernel, centred with symmetric padding, whose taps below the centre row
(vertical) or outside the centre row and right of the centre (horizontal) are zero. Copying the
library's weights into such a masked kernel must give the same function, for every kernel size and
dilation; and a masked kernel with the weights placed one row or column off must NOT (so these
checks can fail).
"""
import pytest
import torch
import torch.nn.functional as F

from pixelcnn_lib.layers import down_shift, horizontal_conv, vertical_conv
from pixelcnn_lib.masks import channel_groups

SIZES = [1, 3, 5, 7]
DILATIONS = [1, 2]


def masked_vertical(conv, k):
    """Full k x k kernel: the library's (r+1) x k weights in rows 0..r, zeros below the centre."""
    r = k // 2
    full = torch.zeros(conv.weight.shape[0], conv.weight.shape[1], k, k, dtype=conv.weight.dtype)
    full[:, :, :r + 1, :] = conv.weight
    return full


def masked_horizontal(conv, k):
    """Full k x k kernel: the library's 1 x (r+1) weights on the centre row, left of and at the centre
    (the centre tap carrying the library's colour mask), zeros everywhere else."""
    r = k // 2
    full = torch.zeros(conv.weight.shape[0], conv.weight.shape[1], k, k, dtype=conv.weight.dtype)
    full[:, :, r, :r + 1] = conv.masked_weight()[:, :, 0, :]
    return full


def apply_centred(x, weight, bias, k, dilation):
    p = k // 2 * dilation
    return F.conv2d(F.pad(x, (p, p, p, p)), weight, bias, dilation=dilation)


@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("k", SIZES)
def test_vertical_conv_equals_masked_full_kernel(k, dilation):
    torch.manual_seed(k * 10 + dilation)
    conv = vertical_conv(3, 5, k, dilation).double()
    x = torch.randn(2, 3, 11, 12, dtype=torch.float64)
    ours = conv(x)
    masked = apply_centred(x, masked_vertical(conv, k), conv.bias, k, dilation)
    assert ours.shape == masked.shape == (2, 5, 11, 12)
    assert (ours - masked).abs().max().item() < 1e-12
    # and the same after the down-shift that feeds the horizontal stack
    assert (down_shift(ours) - down_shift(masked)).abs().max().item() < 1e-12


@pytest.mark.parametrize("dilation", DILATIONS)
@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize("k", SIZES)
def test_horizontal_conv_equals_masked_full_kernel(k, mask_type, dilation):
    torch.manual_seed(k * 10 + dilation)
    groups = channel_groups(3, 1)
    conv = horizontal_conv(3, 5, k, mask_type, groups, channel_groups(5, 1), dilation).double()
    x = torch.randn(2, 3, 11, 12, dtype=torch.float64)
    ours = conv(x)
    masked = apply_centred(x, masked_horizontal(conv, k), conv.bias, k, dilation)
    assert ours.shape == masked.shape == (2, 5, 11, 12)
    assert (ours - masked).abs().max().item() < 1e-12


@pytest.mark.parametrize("k", [3, 5, 7])
def test_misplaced_weights_are_detected(k):
    """Placing the weights one row lower (vertical) or one column right (horizontal) lets the kernel
    see the future; the comparison must notice, or the two tests above prove nothing."""
    torch.manual_seed(k)
    x = torch.randn(2, 3, 11, 12, dtype=torch.float64)
    v = vertical_conv(3, 5, k).double()
    wrong_v = torch.zeros(5, 3, k, k, dtype=torch.float64)
    wrong_v[:, :, 1:k // 2 + 2, :] = v.weight  # rows 1..r+1: one row below the centre included
    assert (v(x) - apply_centred(x, wrong_v, v.bias, k, 1)).abs().max().item() > 1e-3
    h = horizontal_conv(3, 5, k, "B", channel_groups(3, 1), channel_groups(5, 1)).double()
    wrong_h = torch.zeros(5, 3, k, k, dtype=torch.float64)
    wrong_h[:, :, k // 2, 1:k // 2 + 2] = h.masked_weight()[:, :, 0, :]  # one column to the right
    assert (h(x) - apply_centred(x, wrong_h, h.bias, k, 1)).abs().max().item() > 1e-3
