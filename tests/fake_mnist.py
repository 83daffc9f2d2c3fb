"""A tiny MNIST folder in torchvision's layout (MNIST/raw/*-ubyte, IDX format) for command-line tests.

Images are 8x8 so a training step takes milliseconds; the training split must exceed the 5,000
validation images that load_dataset holds out, so it has 5,000 + `n_train` images.
"""
import struct
from pathlib import Path

import numpy as np

SIZE = 8


def _idx(path, array, magic):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape))
        f.write(array.astype(np.uint8).tobytes())


def write_fake_mnist(root, n_train=64, n_test=32, seed=0):
    """Digits-like 8x8 images: a bright bar whose position depends on the label, plus noise."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", 5000 + n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n)
        images = (rng.random((n, SIZE, SIZE)) < 0.1) * 255
        for i, label in enumerate(labels):
            images[i, label % SIZE, :] = 255 if label < SIZE else 0
            images[i, :, (label * 3) % SIZE] = 200
        _idx(raw / f"{prefix}-images-idx3-ubyte", images, 2051)
        _idx(raw / f"{prefix}-labels-idx1-ubyte", labels, 2049)
    return Path(root)
