"""Autoregressive sampling, the front door: draw each sub-pixel in raster order from the softmax.

`sample` checks the method and hands over to one of two samplers that give the same images
for the same seed: the naive one (`naive_sampling`, one full forward pass per sub-pixel,
the one the chapters start with) and the cached one (`fast_sampling`, much faster). Both
consume the random generator identically. They import only `sampling_common`, never this
module.
"""
from .fast_sampling import sample_cached, supports_cached
from .naive_sampling import sample_naive
from .sampling_common import draw, make_generator, positions, prepare  # noqa: F401 (import paths)

SAMPLERS = {"naive": sample_naive, "cached": sample_cached}
METHODS = tuple(SAMPLERS)


def sample(model, n, image_shape, y=None, *, temperature=1.0, generator=None, init=None,
           keep=None, method=None, progress=False):
    """Sample n images of shape (C, H, W) as an integer tensor [n, C, H, W].

    generator: None draws from PyTorch's global generator (`torch.manual_seed(s)` first gives
    the same images), an int seeds a private one, a torch.Generator is used as is.
    y: labels for a class-conditional model (an int or [n]). init/keep: complete a partial
    image. method: "cached" (the default for the models it supports, PixelCNN and
    GatedPixelCNN: exact and far faster) or "naive" (one full forward pass per sub-pixel, the
    default for any other model); both give the same images for the same seed.
    """
    if method is None:
        method = "cached" if supports_cached(model) else "naive"
    if method not in SAMPLERS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    return SAMPLERS[method](model, n, image_shape, y, temperature=temperature, generator=generator,
                            init=init, keep=keep, progress=progress)
