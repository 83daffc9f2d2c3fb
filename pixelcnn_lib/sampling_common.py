"""What both samplers share: argument checks, the raster order, the random draws.

The naive and the cached sampler import only this module (never the front door in
`sampling`), so neither depends on the other and there is no import cycle.
"""
import torch


def make_generator(seed, device):
    """The random source for the draws.

    None: PyTorch's global generator, so `torch.manual_seed(s)` before sampling fixes the
    images. An int seeds a fresh torch.Generator on `device` (the global state is untouched);
    a torch.Generator passes through.
    """
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    return torch.Generator(device=device).manual_seed(int(seed))


def draw(logits, temperature, generator):
    """One categorical draw per row of logits [n, L]; the only place randomness is used."""
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def prepare(model, n, image_shape, y, temperature, init, keep, device):
    """Check the arguments and return (x, keep, y) on the model's device.

    `init` holds given pixels and `keep` (bool, broadcastable to [n, C, H, W], e.g. [H, W]
    for whole pixels) marks those to keep; every other sub-pixel is sampled.
    """
    C, H, W = image_shape
    if C != model.in_channels:
        raise ValueError(f"image_shape has {C} channels but the model expects {model.in_channels}.")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 (got {temperature}); small values approach the argmax.")
    if model.n_classes is not None:
        if y is None:
            raise ValueError(f"This model is class-conditional: pass y, {n} labels in [0, {model.n_classes}).")
        y = torch.as_tensor(y, dtype=torch.long, device=device).expand(n).clone()
    elif y is not None:
        raise ValueError("This model is unconditional: sample without y.")
    x = torch.zeros(n, C, H, W, dtype=torch.long, device=device)
    if init is None and keep is not None:
        raise ValueError("keep marks pixels of init to keep: pass init too.")
    if init is not None:
        init = torch.as_tensor(init).to(device=device, dtype=torch.long)
        x = x + init.expand(n, C, H, W) if init.dim() == 4 else x + init
        keep = (torch.ones_like(x, dtype=torch.bool) if keep is None
                else torch.as_tensor(keep, device=device).bool().expand(n, C, H, W).clone())
        x = torch.where(keep, x, torch.zeros_like(x))
    else:
        keep = torch.zeros_like(x, dtype=torch.bool)
    model.check_input(x, y)
    return x, keep, y


def positions(image_shape):
    """Sub-pixels in raster order: rows, then columns, then channels."""
    C, H, W = image_shape
    return [(i, j, c) for i in range(H) for j in range(W) for c in range(C)]
