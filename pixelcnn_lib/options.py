"""What the command line's commands share: option kinds, datasets, defaults, presets, checks.

Each kind of option has one validating type (argparse calls it while parsing), so every bad
number is refused with the option's name before any command starts, let alone writes a file.
"""
import argparse
import os
from pathlib import Path

import torch

from .devices import pick_device
from .recipes import RECIPES

USAGE_ERROR, INTERRUPTED = 2, 130

# CLI name -> (load_dataset name, default levels, default binarization)
DATASETS = {"mnist": ("mnist", 256, None), "binarized-mnist": ("mnist", 2, "stochastic"),
            "fashion-mnist": ("fashion_mnist", 256, None), "cifar10": ("cifar10", 256, None)}

# Options that define what a run computes. Their defaults live here (the parser's are None), so
# `train --resume` can tell an option typed on the command line from one left out: left out, it
# comes from the run's config.json; typed and different, the resume is refused.
TRAIN_DEFAULTS = dict(dataset="binarized-mnist", levels=None, binarization=None, classes=True,
                      hidden_channels=64, layers=15, kernel_size=3, causal_kernel_size=7,
                      skip_channels=None, head_channels=None, dilations=None, epochs=10,
                      max_steps=None, batch_size=32, lr=1e-3, weight_decay=0.0, max_grad_norm=1.0,
                      warmup_steps=None, ema=0.999, seed=0, val_images=None, log_every=50,
                      eval_every=None)
# Options a resumed run may change without changing its result (or that only extend it).
RESUMABLE_CHANGES = {"epochs", "max_steps"}

# --preset: recipes that replace the defaults (typed options still win): chapter 6's cpu recipe
# (about 25 minutes on a 2-core CPU) and its gpu recipe (an estimate until run on a GPU), their
# model and optimisation settings only (recipes.py).
PRESET_KEYS = ("hidden_channels", "layers", "skip_channels", "head_channels", "dilations",
               "batch_size", "lr", "warmup_steps", "ema", "max_steps", "log_every", "eval_every",
               "val_images")
PRESETS = {name: {k: RECIPES[name][k] for k in PRESET_KEYS} for name in ("cpu", "gpu")}


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


# ----------------------------------------------------------------------------- option kinds

def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}"
                                         f", got {text!r}") from None


def positive_int(text):
    """A count that must be at least 1 (steps, epochs, images, channels, layers)."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {value}")
    return value


def nonnegative_int(text):
    """A count where 0 is meaningful (warmup steps, seeds)."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value}")
    return value


def odd_kernel(text):
    """A kernel size: odd, so a causal kernel is centred on the pixel it predicts."""
    value = positive_int(text)
    if value % 2 == 0:
        raise argparse.ArgumentTypeError(f"must be odd (got {value}): a causal kernel is centred "
                                         "on the pixel it predicts; use 3, 5 or 7")
    return value


def colour_levels(text):
    value = _number(text, int)
    if not 2 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must lie in 2..256, got {value}")
    return value


def positive_float(text):
    """A rate or a budget that must be above 0 (learning rate, minutes, temperature)."""
    value = _number(text, float)
    if not value > 0 or value == float("inf"):  # NaN fails the first test
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def nonnegative_float(text):
    """A strength where 0 switches the thing off (weight decay, clipping norm)."""
    value = _number(text, float)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0 (0 = off), got {text}")
    return value


def decay(text):
    """A weight-average decay: in [0, 1), 0 = no average."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1) (0 = off; 0.999 is usual), got {text}")
    return value


def _whole_numbers(text, least, example):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = None
    if not values or min(values) < least:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers >= {least} like "
                                         f"{example}, got {text!r}")
    return values


def int_list(text):
    """Comma-separated whole numbers >= 1 (dilations, a shape)."""
    return _whole_numbers(text, 1, "1,2,1,4")


def nonnegative_int_list(text):
    """Comma-separated whole numbers >= 0 (class labels)."""
    return _whole_numbers(text, 0, "0,1,2")


# ----------------------------------------------------------------------------- checks

def device_from(text):
    """The torch.device a --device option names (default: the fastest present), or a UsageError."""
    if text is None:
        return pick_device()
    try:
        device = torch.device(text)
    except RuntimeError:
        raise UsageError(f"--device {text!r} is not a device: use cpu, cuda, cuda:1 or mps.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda, but PyTorch sees no CUDA GPU here: use --device cpu.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError("--device mps, but Apple MPS is not available here: use --device cpu.")
    return device


def check_writable(directory, option="--out"):
    """Refuse an output directory that cannot be created or written, before writing anything."""
    directory = Path(directory)
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{option}: cannot write to {directory}: {probe} is a file, not a "
                         "directory; choose another output path.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: cannot write to {directory}: {probe} is not writable; choose "
                         "a directory you can write to.")
