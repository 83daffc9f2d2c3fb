"""Causal masks: which input taps a convolution may read without seeing the future.

Raster order visits pixels row by row, left to right, and inside a pixel the colour
channels in order R, G, B. A tap is allowed if it lies strictly before the centre pixel
in raster order. At the centre pixel itself only earlier colour channels may be read:
type "A" (first layer) forbids the channel's own group, type "B" (later layers, whose
inputs already only summarise the past) allows it.
"""
import torch

MASK_TYPES = ("A", "B")


def check_kernel_size(kernel_size: int, name: str = "kernel_size") -> int:
    """Causal kernels are centred on the pixel being predicted, so their size must be odd."""
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f"{name} must be an odd positive integer (got {kernel_size!r}): a causal kernel "
            f"is centred on the pixel being predicted. Use 1, 3, 5 or 7."
        )
    return kernel_size


def check_mask_type(mask_type: str) -> str:
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be 'A' or 'B' (got {mask_type!r}).")
    return mask_type


def channel_groups(n_channels: int, n_groups: int) -> torch.Tensor:
    """Colour group of each channel: contiguous, near-equal blocks (0..n_groups-1).

    Contiguous blocks (not index modulo 3) keep the split valid for any width, and a
    gate that pairs channel k with channel k + h keeps both halves in the same group.
    """
    if n_groups > 1 and n_channels < n_groups:
        raise ValueError(
            f"{n_channels} channels cannot be split into {n_groups} colour groups: "
            f"use at least {n_groups} channels for colour images."
        )
    return torch.arange(n_channels) * n_groups // n_channels


def centre_tap(in_groups: torch.Tensor, out_groups: torch.Tensor, mask_type: str) -> torch.Tensor:
    """[out, in] bool: may output channel o read input channel i at the centre pixel?"""
    check_mask_type(mask_type)
    out_g, in_g = out_groups[:, None], in_groups[None, :]
    return out_g > in_g if mask_type == "A" else out_g >= in_g


def causal_mask(kernel_size, mask_type: str, in_groups: torch.Tensor, out_groups: torch.Tensor,
                centre=None) -> torch.Tensor:
    """Float mask [out, in, kh, kw] for a kernel whose centre tap sits at `centre`.

    `kernel_size` is an int (square kernel, centred) or (kh, kw) with an explicit `centre`
    (row, col); taps after the centre in raster order are zero.
    """
    if isinstance(kernel_size, int):
        check_kernel_size(kernel_size)
        kh = kw = kernel_size
        centre = (kernel_size // 2, kernel_size // 2)
    else:
        kh, kw = kernel_size
    ci, cj = centre
    rows = torch.arange(kh)[:, None]
    cols = torch.arange(kw)[None, :]
    before = (rows < ci) | ((rows == ci) & (cols < cj))  # strictly earlier pixels
    mask = before.expand(len(out_groups), len(in_groups), kh, kw).clone().float()
    mask[:, :, ci, cj] = centre_tap(in_groups, out_groups, mask_type).float()
    return mask


def spatial_offsets(kernel_size: int, mask_type: str, dilation: int = 1):
    """The (drow, dcol) offsets a square masked kernel reads, at pixel level.

    Type A excludes the centre pixel, type B includes it (for one channel; with colour
    groups the centre is partly open for both). Used by the analytic receptive field.
    """
    check_kernel_size(kernel_size)
    check_mask_type(mask_type)
    r = kernel_size // 2
    offs = [(di * dilation, dj * dilation) for di in range(-r, 1) for dj in range(-r, r + 1)
            if di < 0 or dj < 0]
    if mask_type == "B":
        offs.append((0, 0))
    return offs
