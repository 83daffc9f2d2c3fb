"""Receptive fields, computed exactly: which input pixels can move a given output?

Two independent computations that the tests hold equal:

* `dependency_map(model, ...)`: from the model itself. A copy of the network with every
  weight replaced by a non-negative number where the mask allows a tap (zero where it
  does not), biases and label embeddings zeroed, and each nonlinearity replaced by a
  linear stand-in (ReLU -> identity, tanh(f)*sigmoid(g) -> f + g), run in float64. Its
  Jacobian is a sum of non-negative path products, so an entry is > 0 exactly when a
  path from that input to that output exists: no cancellation, no float32 noise.
* `analytic_field(...)`: from the kernels' shapes alone, by walking back from the target
  through the layers as sets of pixel positions (the same walk the browser widget runs).

`influence_map` measures how much a *trained* model actually uses each pixel.
"""
import copy

import torch
import torch.nn as nn

from .layers import CausalConv2d, Gate
from .masks import spatial_offsets
from .models import GatedPixelCNN, PixelCNN

ARCHITECTURES = ("masked", "two_stacks")


class SumGate(nn.Module):
    """Linear stand-in for Gate: f + g keeps every path through both halves."""

    def forward(self, x):
        f, g = x.chunk(2, dim=1)
        return f + g


def structural_copy(model):
    """A float64 copy whose Jacobian is > 0 exactly where the architecture connects."""
    twin = copy.deepcopy(model).double().eval()

    def swap(parent):
        for name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, name, nn.Identity())
            elif isinstance(child, Gate):
                setattr(parent, name, SumGate())
            else:
                swap(child)

    swap(twin)
    with torch.no_grad():
        for module in twin.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                allowed = module.mask if getattr(module, "mask", None) is not None else 1.0
                module.weight.copy_(torch.ones_like(module.weight) * allowed / fan_in)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.zero_()
    return twin


def target_index(target, n_channels):
    """(i, j) or (c, i, j) -> (c, i, j), the channel checked."""
    if len(target) == 2:
        return (0, *target)
    c, i, j = target
    if not 0 <= c < n_channels:
        raise ValueError(f"channel {c} out of range for {n_channels} channel(s).")
    return c, i, j


def dependency_map(model, target, image_size, twin=None):
    """Bool [C, H, W]: the input sub-pixels that output `target` ((i, j) or (c, i, j)) depends on.

    Pass `twin=structural_copy(model)` to reuse the copy across many targets.
    """
    H, W = image_size
    c, i, j = target_index(target, model.in_channels)
    if not (0 <= i < H and 0 <= j < W):
        raise ValueError(f"target pixel ({i}, {j}) lies outside a {H}x{W} image.")
    twin = twin if twin is not None else structural_copy(model)
    x = torch.ones(1, model.in_channels, H, W, dtype=torch.float64, requires_grad=True)
    y = torch.zeros(1, dtype=torch.long) if model.n_classes else None
    logits = twin.logits_from_float(x, y)
    logits[0, :, c, i, j].sum().backward()
    return x.grad[0] > 0


def influence_map(model, x, target, y=None):
    """Float64 [C, H, W]: |d log p(x[target] | past) / d input| for a trained model at image x.

    The input is the model's scaled float image, so this is the exact gradient of the
    log-likelihood of the observed value at `target` ((i, j) or (c, i, j)).
    """
    return influence_maps(model, x, [target], y)[0]


def influence_maps(model, x, targets, y=None, batch=16):
    """Float64 [T, C, H, W]: `influence_map(model, x, target, y)` for every target, batched.

    Each batch row holds a copy of the image and backpropagates from its own target, so the
    rows' gradients do not mix: the same exact numbers, T times faster to get.
    """
    twin = copy.deepcopy(model).double().eval()
    x = torch.as_tensor(x).long()
    x = x[None] if x.dim() == 3 else x
    model.check_input(x, y)
    xf0 = twin.scale(x).double()
    targets = [target_index(tg, model.in_channels) for tg in targets]
    out = []
    for start in range(0, len(targets), batch):
        c, i, j = torch.tensor(targets[start:start + batch]).T
        n = len(c)
        xf = xf0.expand(n, -1, -1, -1).clone().requires_grad_(True)
        logits = twin.logits_from_float(xf, None if y is None else y.expand(n))
        rows = torch.arange(n)
        logp = torch.log_softmax(logits[rows, :, c, i, j], dim=1)[rows, x[0, c, i, j]]
        logp.sum().backward()
        out.append(xf.grad.abs())
    return torch.cat(out)


# --- The analytic walk --------------------------------------------------------------

def _spread(cells, offsets, H, W):
    """Positions p + o (inside the image) for p in cells and o in offsets."""
    return {(i + di, j + dj) for (i, j) in cells for (di, dj) in offsets
            if 0 <= i + di < H and 0 <= j + dj < W}


def _up(cells):
    """Read the row above: the down-shift seen from its output side."""
    return {(i - 1, j) for (i, j) in cells if i >= 1}


def _vertical_offsets(k, d=1):
    r = k // 2
    return [(di * d, dj * d) for di in range(-r, 1) for dj in range(-r, r + 1)]


def _horizontal_offsets(k, mask_type, d=1):
    r = k // 2
    return [(0, -dj * d) for dj in range(1 if mask_type == "A" else 0, r + 1)]


def analytic_field(arch, target, image_size, n_layers, kernel_size=3, causal_kernel_size=None,
                   dilations=None, channel=0, n_channels=1):
    """Bool [H, W]: the pixels whose value can reach output (channel, target), from kernel shapes.

    arch "masked": layer 1 a mask-A k1 x k1 kernel, later layers mask-B (PixelCNN, or the
    gated model without its vertical stack). arch "two_stacks": the gated model's
    vertical and horizontal stacks joined by the down-shifted link. A channel c > 0 of
    an RGB image also reads earlier channels of its own pixel.
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}.")
    H, W = image_size
    i0, j0 = target
    k1 = causal_kernel_size or kernel_size
    dilations = list(dilations) if dilations else [1] * (n_layers - 1)
    need = {(i0, j0)}
    if arch == "masked":
        for d in reversed(dilations):
            need = _spread(need, spatial_offsets(kernel_size, "B", d), H, W)
        seen = _spread(need, spatial_offsets(k1, "A"), H, W)
    else:
        h_need, v_need = set(), set()  # where block outputs are read by the block above
        for d in reversed(dilations):
            gate = {(i0, j0)} | h_need  # skip output, and the residual path into h_out
            v_pre = _up(gate) | v_need  # the link reads the row above; v_out = act(v_pre)
            h_need = h_need | _spread(gate, _horizontal_offsets(kernel_size, "B", d), H, W)
            v_need = _spread(v_pre, _vertical_offsets(kernel_size, d), H, W)
        seen = (_spread(h_need, _horizontal_offsets(k1, "A"), H, W)
                | _spread(_up(h_need) | v_need, _vertical_offsets(k1), H, W))
    grid = torch.zeros(H, W, dtype=torch.bool)
    for i, j in seen:
        grid[i, j] = True
    grid[i0, j0] = n_channels > 1 and channel > 0
    return grid


def field_settings(model) -> dict:
    """analytic_field's architecture arguments, read off a PixelCNN or GatedPixelCNN."""
    cfg = model.config
    common = dict(n_layers=cfg["n_layers"], kernel_size=cfg["kernel_size"],
                  n_channels=model.in_channels)
    if isinstance(model, PixelCNN):
        return dict(arch="masked", causal_kernel_size=None, dilations=None, **common)
    if isinstance(model, GatedPixelCNN):
        return dict(arch="two_stacks" if cfg["two_stacks"] else "masked",
                    causal_kernel_size=cfg["causal_kernel_size"], dilations=list(model.dilations),
                    **common)
    raise TypeError(f"no analytic receptive field for {type(model).__name__}.")


def analytic_field_of(model, target, image_size):
    """`analytic_field` with the architecture read off a PixelCNN or GatedPixelCNN."""
    c, i, j = target_index(target, model.in_channels)
    return analytic_field(target=(i, j), image_size=image_size, channel=c,
                          **field_settings(model))


def past(target, image_size):
    """Bool [H, W]: pixels strictly before `target` in raster order."""
    H, W = image_size
    i, j = target
    order = torch.arange(H * W).view(H, W)
    return order < i * W + j


def blind_spot(seen, target):
    """Bool [H, W]: earlier pixels inside the field's bounding box that it cannot see.

    For stacked masked convolutions this is the wedge up and to the right of the
    target; a field without holes gives an empty map.
    """
    seen = torch.as_tensor(seen, dtype=torch.bool)
    box = torch.zeros_like(seen)
    rows, cols = torch.nonzero(seen, as_tuple=True)
    if len(rows):
        box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
    return box & past(target, seen.shape) & ~seen
