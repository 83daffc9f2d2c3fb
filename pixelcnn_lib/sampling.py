"""Autoregressive sampling: draw each sub-pixel in raster order from the model's softmax.

`sample` is the naive sampler the chapters start with: one full forward pass per
sub-pixel (784 passes for an MNIST digit). The cached sampler in `fast_sampling`
computes the same thing much faster and consumes the random generator identically,
so both give the same images for the same seed.
"""
import torch

METHODS = ("naive", "cached")


def make_generator(seed, device):
    """A torch.Generator on `device`: an int seeds a new one, a Generator passes through."""
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


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


@torch.no_grad()
def sample(model, n, image_shape, y=None, *, temperature=1.0, generator=None, init=None,
           keep=None, method="naive", progress=False):
    """Sample n images of shape (C, H, W) as an integer tensor [n, C, H, W].

    generator: an int seed or a torch.Generator (same seed, same images). y: labels for a
    class-conditional model (an int or [n]). init/keep: complete a partial image.
    method: "naive" (one forward pass per sub-pixel) or "cached" (fast_sampling).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if method == "cached":
        from .fast_sampling import sample_cached
        return sample_cached(model, n, image_shape, y, temperature=temperature,
                             generator=generator, init=init, keep=keep, progress=progress)
    device = next(model.parameters()).device
    x, keep, y = prepare(model, n, image_shape, y, temperature, init, keep, device)
    g = make_generator(generator, device)
    was_training = model.training
    model.eval()
    try:
        steps = positions(image_shape)
        if progress:
            from tqdm.auto import tqdm
            steps = tqdm(steps, desc="sampling (naive)")
        for i, j, c in steps:
            kept = keep[:, c, i, j]
            if bool(kept.all()):
                continue
            logits = model(x, y, check=False)[:, :, c, i, j]
            x[:, c, i, j] = torch.where(kept, x[:, c, i, j], draw(logits, temperature, g))
    finally:
        model.train(was_training)
    return x
