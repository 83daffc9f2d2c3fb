"""Shared fixtures: where real MNIST lives, and small datasets/models that keep tests fast."""
import os
from pathlib import Path

import pytest

OFFLINE_COPY = Path("/work/shared/data")  # the project's read-only offline copy
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _has_mnist(root):
    return all((Path(root) / "MNIST" / "raw" / f).is_file() for f in MNIST_FILES)


@pytest.fixture(scope="session")
def mnist_root():
    """Directory holding MNIST/raw/*-ubyte. Uses PIXELCNN_DATA (fails if set but incomplete, so CI
    never silently skips), else the offline copy, else skips saying what to set."""
    env = os.environ.get("PIXELCNN_DATA")
    if env:
        assert _has_mnist(env), (f"PIXELCNN_DATA={env} but {env}/MNIST/raw/ lacks some of {MNIST_FILES}")
        return Path(env)
    if _has_mnist(OFFLINE_COPY):
        return OFFLINE_COPY
    pytest.skip("real MNIST not found: set PIXELCNN_DATA to a directory holding "
                f"MNIST/raw/{{{','.join(MNIST_FILES)}}} to run this test")


@pytest.fixture(scope="session")
def mnist_binary(mnist_root):
    """Binarized (byte >= 128) MNIST train and test splits, loaded once per session."""
    from pixelcnn_lib.data import load_dataset
    return {split: load_dataset("mnist", split, levels=2, root=mnist_root, download=False)
            for split in ("train", "test")}


@pytest.fixture
def torch_single_thread():
    """One intra-op thread for CPU training tests: on a shared 2-core machine, two OpenMP threads
    under load can run 10x slower than one (measured: 259 s vs 24 s for the MNIST training test)."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
