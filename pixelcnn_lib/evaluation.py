"""Validating a dataset against a model, and the honest test likelihood.

bits/dim is always computed from SUMMED log-likelihoods: total nats over every sub-pixel,
divided once by (sub-pixels x ln 2).
"""
import math

import torch
import torch.nn.functional as F

from . import rehearsal
from .data import ImageData
from .devices import model_device


def as_tensors(data):
    """(images, labels or None) from an ImageData or a bare image tensor."""
    if isinstance(data, ImageData):
        return data.images, data.labels
    if isinstance(data, torch.Tensor):
        return data, None
    raise TypeError(f"expected ImageData or an image tensor, got {type(data).__name__}.")


def check_data(model, data, what="data"):
    """Validate a whole dataset ONCE (dtype, shape, value range, labels) so batches can skip checks."""
    images, labels = as_tensors(data)
    if isinstance(data, ImageData) and data.levels != model.color_levels:
        raise ValueError(f"{what} was quantised to {data.levels} levels but the model has "
                         f"color_levels={model.color_levels}; load it with levels={model.color_levels}.")
    if images.is_floating_point() or images.dtype == torch.bool:
        raise TypeError(f"{what} images must be integer levels (uint8), got {images.dtype}; use data.quantize.")
    if len(images) == 0:
        raise ValueError(f"{what} is empty.")
    if model.n_classes and labels is None:
        raise ValueError(f"the model is class-conditional (n_classes={model.n_classes}): {what} needs labels.")
    y = labels[:2] if model.n_classes else None
    model.check_input(images[:2].long(), y)  # shape, channels, label dtype
    lo, hi = int(images.min()), int(images.max())
    if lo < 0 or hi >= model.color_levels:
        raise ValueError(f"{what} has values in [{lo}, {hi}], outside [0, {model.color_levels - 1}].")
    if model.n_classes and (int(labels.min()) < 0 or int(labels.max()) >= model.n_classes):
        raise ValueError(f"{what} labels lie in [{int(labels.min())}, {int(labels.max())}], "
                         f"outside [0, {model.n_classes - 1}].")
    if model.n_classes and labels.shape != (len(images),):
        raise ValueError(f"{what} needs one label per image: {len(images)} images, labels {list(labels.shape)}.")


@torch.no_grad()
def evaluate(model, data, batch_size=256, device=None) -> dict:
    """Test likelihood from summed log-likelihoods, in fp32, eval mode (train mode restored after).

    Returns {"bits_per_dim": total nats / (N * C * H * W * ln 2), "nats_per_image": total nats
    / N (the number quoted for binarized MNIST), "n_images": N}.
    """
    check_data(model, data)
    data = rehearsal.cap_images(data)  # PIXELCNN_REHEARSE: a few images only
    device = torch.device(device) if device is not None else model_device(model)
    model.to(device)
    images, labels = as_tensors(data)
    was_training = model.training
    model.eval()
    try:
        total = torch.zeros((), dtype=torch.float64, device=device)
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(device).long()
            y = labels[i:i + batch_size].to(device) if model.n_classes else None
            logits = model(x, y, check=False)
            total += F.cross_entropy(logits.float(), x, reduction="sum").double()
        total = total.item()
    finally:
        model.train(was_training)
    n = len(images)
    return {"bits_per_dim": total / (images[0].numel() * n * math.log(2)),
            "nats_per_image": total / n, "n_images": n}
