"""Exact causality checks shared by the test modules.

Sub-pixel (c, i, j) of a C-channel W-wide image has raster index (i * W + j) * C + c.
Perturbing input sub-pixel p may only change logits of sub-pixels with a larger index.
"""
import torch


def raster_index(C, H, W):
    """[C, H, W] tensor of each sub-pixel's position in raster/channel order."""
    i = torch.arange(H)[None, :, None]
    j = torch.arange(W)[None, None, :]
    c = torch.arange(C)[:, None, None]
    return (i * W + j) * C + c


def perturbation_effects(model, x, y=None):
    """Bool [P, C, H, W]: which logits change when input sub-pixel p (raster index) is changed.

    Float64, and one image per call: a GEMM may sum different batch rows in different
    orders, so only same-shaped calls are bitwise comparable.
    """
    model = model.double().eval()
    C, H, W = x.shape
    L = model.color_levels
    y = None if y is None else y[:1]
    with torch.no_grad():
        base = model(x[None], y)[0]                                    # [L, C, H, W]
        effects = torch.zeros(C * H * W, C, H, W, dtype=torch.bool)
        order = raster_index(C, H, W)
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    x2 = x.clone()
                    x2[c, i, j] = (x[c, i, j] + 1 + torch.randint(0, L - 1, ())) % L
                    effects[order[c, i, j]] = (model(x2[None], y)[0] != base).any(dim=0)
    return effects


def assert_causal(model, x, y=None):
    """No logit at or before the perturbed sub-pixel may move."""
    C, H, W = x.shape
    effects = perturbation_effects(model, x, y)
    order = raster_index(C, H, W)
    for p in range(C * H * W):
        leaked = effects[p] & (order <= p)
        assert not leaked.any(), (
            f"perturbing sub-pixel #{p} changed logits at or before it: {leaked.nonzero().tolist()}")
    return effects
