"""The naive sampler: one full forward pass of the model per sub-pixel.

It is the definition of sampling from the chain rule, and the reference the cached
sampler in `fast_sampling` must reproduce exactly (784 passes for an MNIST digit).
"""
import torch

from .sampling_common import draw, make_generator, positions, prepare


@torch.no_grad()
def sample_naive(model, n, image_shape, y=None, *, temperature=1.0, generator=None, init=None,
                 keep=None, progress=False):
    """Sample n images [n, C, H, W]; the arguments are those of `sampling.sample`."""
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
        # show: the loop
        for i, j, c in steps:
            kept = keep[:, c, i, j]
            if bool(kept.all()):
                continue
            logits = model(x, y, check=False)[:, :, c, i, j]
            x[:, c, i, j] = torch.where(kept, x[:, c, i, j], draw(logits, temperature, g))
        # end show: the loop
    finally:
        model.train(was_training)
    return x
