"""Datasets as small uint8 tensors of colour levels, ready to live on the device.

Everything a chapter trains on comes back as an `ImageData`: images [N, C, H, W] uint8 holding
levels in [0, levels), labels [N] int64. The validation split is the LAST `val_size` images of
the official training set (MNIST/FashionMNIST/CIFAR-10 ship their training sets shuffled, so the
tail is a fair sample); "train" is everything before it and never overlaps it; "test" is the
official 10,000-image test set.

Two binarizations give levels=2 (`ImageData.binarization` says which one a dataset holds):
"threshold" (byte >= 128, deterministic, the default) and "stochastic" (each pixel drawn once as
Bernoulli(byte / 255) with a fixed seed, the fixed binarized MNIST behind published results such
as PixelCNN's 81.30 nats). Numbers on one are not numbers on the other.
"""
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATASETS = ("mnist", "fashion_mnist", "cifar10")
SPLITS = ("train", "val", "test")
ENV_ROOT = "PIXELCNN_DATA"
BINARIZATIONS = {
    "threshold": "threshold binarization (pixel = 1 where byte >= 128)",
    "stochastic": "stochastic binarization (pixel = 1 with probability byte / 255, drawn once, "
                  "fixed seed)",
}
# One fixed seed per official file: train and val are cut from one draw over the official training
# file (consistent for any val_size), the test file gets a draw of its own.
STOCHASTIC_SEEDS = {"train": 0, "test": 1}

# Files torchvision reads, relative to root: what a user must provide when downloads fail.
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
REQUIRED_FILES = {
    "mnist": [f"MNIST/raw/{f}" for f in _MNIST_FILES],
    "fashion_mnist": [f"FashionMNIST/raw/{f}" for f in _MNIST_FILES],
    "cifar10": [f"cifar-10-batches-py/{f}" for f in
                ("batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch")],
}


class DatasetNotFoundError(FileNotFoundError):
    """The dataset files are missing and could not (or may not) be downloaded."""


@dataclass
class ImageData:
    """Quantised images and their labels; `levels` says how many colour levels the values use.

    `len(data)` counts images; `data[10:20]` (or any index or boolean mask) and
    `data.subset(k)` give an ImageData of those images, with the same levels and name.
    """
    images: torch.Tensor  # uint8 [N, C, H, W], values in [0, levels)
    labels: torch.Tensor  # int64 [N]
    levels: int
    name: str
    split: str
    binarization: str = None  # for levels=2: "threshold" or "stochastic" (see BINARIZATIONS)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        if isinstance(index, int):  # one image stays a dataset of one
            index = slice(index, index + 1 if index != -1 else None)
        return ImageData(self.images[index], self.labels[index], self.levels, self.name,
                         self.split, self.binarization)

    def subset(self, k: int) -> "ImageData":
        """The first k images (see `subset`)."""
        return subset(self, k)

    @property
    def shape(self):
        """[C, H, W] of one image."""
        return tuple(self.images.shape[1:])

    def __repr__(self):
        binarized = f", binarization={self.binarization!r}" if self.binarization else ""
        return (f"ImageData({self.name!r}, split={self.split!r}, n={len(self)}, "
                f"shape={list(self.shape)}, levels={self.levels}{binarized})")


def quantize(images, levels: int) -> torch.Tensor:
    """Map images to integer levels: scale to [0, 1] FIRST, then floor(x * levels), clipped to levels - 1.

    uint8 bytes b are read as b / 255 (computed exactly as b * levels // 255), floats must
    already lie in [0, 1]. Scaling first matters: flooring unscaled bytes collapses everything
    to {0, levels - 1}. levels=256 is the identity on bytes. levels=2 is a deterministic
    threshold: byte >= 128 (intensity >= 0.5) becomes 1. That differs from the FIXED
    STOCHASTIC binarization of Larochelle & Murray (each pixel drawn once as Bernoulli(intensity))
    behind the published 81.30 nats on binarized MNIST: see `binarize_stochastic` and
    `load_dataset(..., levels=2, binarization="stochastic")`. Returns uint8 (same shape).
    """
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 2 <= levels <= 256:
        raise ValueError(f"levels must be an integer in 2..256, got {levels!r}.")
    levels = int(levels)
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor or numpy array, got {type(images).__name__}.")
    if images.dtype == torch.uint8:
        return (images.long() * levels // 255).clamp_(max=levels - 1).to(torch.uint8)
    if images.is_floating_point():
        if images.numel() and not (images.min() >= 0 and images.max() <= 1):  # NaN fails too
            raise ValueError(
                f"float images must lie in [0, 1], got [{images.min().item():.4g}, {images.max().item():.4g}]. "
                "Divide bytes by 255 first (or pass the uint8 tensor directly).")
        return torch.floor(images * levels).clamp_(max=levels - 1).to(torch.uint8)
    raise TypeError(f"images must be uint8 bytes in [0, 255] or floats in [0, 1], got dtype {images.dtype}.")


def binarize_stochastic(images: torch.Tensor, seed: int) -> torch.Tensor:
    """uint8 bytes -> 0/1, each pixel 1 with probability byte / 255 exactly, drawn from `seed`.

    A uniform integer u in 0..254 is below byte b in exactly b of 255 cases, so bytes 0 and 255
    stay 0 and 1. The same seed gives the same draw, so the dataset is fixed.
    """
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise TypeError("binarize_stochastic needs uint8 bytes in [0, 255] (the raw dataset images).")
    u = torch.randint(0, 255, images.shape, generator=torch.Generator().manual_seed(seed),
                      dtype=torch.uint8)
    return (u < images).to(torch.uint8)


@functools.lru_cache(maxsize=4)
def _stochastic_split(name, root, train):
    """One official file binarized stochastically with its fixed seed (cached: it is a big draw)."""
    images, _ = _read_split(name, root, train)
    return binarize_stochastic(images, STOCHASTIC_SEEDS["train" if train else "test"])


def default_root() -> Path:
    """Where datasets live: env PIXELCNN_DATA if set, else ~/.cache/pixelcnn_lib (XDG_CACHE_HOME honoured)."""
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "pixelcnn_lib"


def _missing_message(name, root, reason):
    """One sentence per line: what is missing and why, the files to provide, how to point at them."""
    files = ", ".join(str(Path(root) / f) for f in REQUIRED_FILES[name])
    return (f"{name} not found under {root} ({reason}).\nPut these files there (unzipped): {files}\n"
            f"or set the environment variable {ENV_ROOT} to a directory that holds them "
            f"(or pass root=...).")


def _torchvision_class(name):
    from torchvision import datasets
    return {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}[name]


@functools.lru_cache(maxsize=4)
def _read_split(name, root, train):
    """Raw uint8 images [N, C, H, W] and int64 labels of one official split (cached: tests reload often)."""
    ds = _torchvision_class(name)(root, train=train, download=False)  # download=False: never writes
    images = torch.as_tensor(np.asarray(ds.data))
    images = images.permute(0, 3, 1, 2) if images.dim() == 4 else images[:, None]  # CIFAR is NHWC
    return images.contiguous(), torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)


def _torchvision_split(name, root, train, download):
    """Download only when files are missing and download=True; turn every failure into one clear
    error, and leave behind no folder that a failed download created."""
    folders = {q for f in REQUIRED_FILES[name] for q in (root / f).parents if q != q.parent}
    new_folders = sorted((q for q in folders if not q.exists()), key=lambda q: -len(q.parts))
    try:
        if not all((root / f).exists() for f in REQUIRED_FILES[name]):
            if not download:
                raise DatasetNotFoundError(_missing_message(name, root, "download=False"))
            _torchvision_class(name)(str(root), train=train, download=True)
        return _read_split(name, str(root), train)
    except DatasetNotFoundError:
        raise
    except Exception as e:  # offline, HTTP 403, bad checksum, read-only root, corrupt file, ...
        for folder in new_folders:  # deepest first; a folder that now holds files stays
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        cause = " ".join(str(e).split()).rstrip(":.") or "no reason given"
        reason = (f"torchvision could not {'download' if download else 'load'} it: "
                  f"{type(e).__name__}: {cause}")
        raise DatasetNotFoundError(_missing_message(name, root, reason)) from e


def load_dataset(name: str, split: str = "train", levels: int = 256, root=None,
                 download: bool = True, val_size: int = 5000, *,
                 binarization: str = None) -> ImageData:
    """Load MNIST / FashionMNIST / CIFAR-10 quantised to `levels` (see `quantize`).

    split: "train" = official training set minus its last `val_size` images, "val" = those last
    `val_size` images, "test" = official test set (10,000). root: explicit path, else env
    PIXELCNN_DATA, else ~/.cache/pixelcnn_lib. With download=False nothing is ever written.
    binarization (levels=2 only): "threshold" (byte >= 128, the default) or "stochastic" (each
    pixel drawn once as Bernoulli(byte / 255), one fixed seed per official file). The command
    line's names work too: "binarized-mnist" is MNIST at 2 levels, stochastic by default (as
    published), and "fashion-mnist" is FashionMNIST.
    """
    key = name.lower().replace("-", "_")
    key = {"fashionmnist": "fashion_mnist", "cifar_10": "cifar10"}.get(key, key)
    if key == "binarized_mnist":  # the command line's name: MNIST at 2 levels, as published
        if levels not in (2, 256):  # 256 is the default: not given
            raise ValueError(f"binarized-mnist has 2 levels, not {levels!r}: drop levels, or "
                             "load 'mnist' to quantise to other levels.")
        key, levels, binarization = "mnist", 2, binarization or "stochastic"
    binarization = binarization or "threshold"
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS + ('binarized-mnist',)}.")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    if binarization not in BINARIZATIONS:
        raise ValueError(f"binarization must be one of {tuple(BINARIZATIONS)}, got {binarization!r}.")
    if binarization == "stochastic" and (isinstance(levels, bool) or levels != 2):
        raise ValueError(f"binarization='stochastic' makes 0/1 pixels: pass levels=2 (got "
                         f"levels={levels!r}), or drop binarization to quantise to {levels!r} levels.")
    root = Path(root).expanduser() if root is not None else default_root()
    images, labels = _torchvision_split(key, root, train=split != "test", download=download)
    stochastic = binarization == "stochastic"
    if stochastic:
        images = _stochastic_split(key, str(root), split != "test")
    if split != "test":
        if not 0 < val_size < len(images):
            raise ValueError(f"val_size must be in 1..{len(images) - 1}, got {val_size}.")
        cut = len(images) - val_size
        images, labels = (images[:cut], labels[:cut]) if split == "train" else (images[cut:], labels[cut:])
    images = images.clone() if stochastic else quantize(images, levels)
    return ImageData(images, labels.clone(), levels, key, split,
                     binarization if levels == 2 else None)


def subset(data: ImageData, k: int) -> ImageData:
    """The first k images (deterministic), for quick runs and tests."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    return ImageData(data.images[:k], data.labels[:k], data.levels, data.name, data.split,
                     data.binarization)


def photo_patches(size: int = 8, levels: int = 256, n: int = None, stride: int = None,
                  split: str = "all") -> ImageData:
    """Colour patches cut from a real photograph that ships with matplotlib: an offline RGB dataset.

    The 600x512 Grace Hopper portrait is cut on a regular grid (step `stride`, default `size`) in
    raster order; split "test" is every 5th patch (index % 5 == 4), "train" the rest, "all" every
    patch; `n` keeps the first n of the split. Labels are zeros. Small and deterministic, so tests
    and the quick profile can exercise 3-channel models without any download.
    """
    from matplotlib import cbook
    from PIL import Image
    if split not in ("all", "train", "test"):
        raise ValueError(f"split must be 'all', 'train' or 'test', got {split!r}.")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}.")
    stride = stride or size
    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    photo = torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy()).permute(2, 0, 1)
    patches = photo.unfold(1, size, stride).unfold(2, size, stride)  # [3, rows, cols, size, size]
    patches = patches.permute(1, 2, 0, 3, 4).reshape(-1, 3, size, size)
    index = torch.arange(len(patches))
    if split != "all":
        index = index[(index % 5 == 4) == (split == "test")]
    if n is not None:
        if n > len(index):
            raise ValueError(f"only {len(index)} patches of size {size} with stride {stride} in split "
                             f"{split!r}; ask for fewer or pass a smaller stride.")
        index = index[:n]
    images = quantize(patches[index].contiguous(), levels)
    return ImageData(images, torch.zeros(len(images), dtype=torch.long), levels, "photo_patches", split,
                     "threshold" if levels == 2 else None)
