"""Data: quantisation rules, official splits, offline failure messages, the offline colour set."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import pixelcnn_lib.data as data_module
from pixelcnn_lib.data import (BINARIZATIONS, STOCHASTIC_SEEDS, DatasetNotFoundError, ImageData,
                               binarize_stochastic, default_root, load_dataset, photo_patches,
                               quantize, subset)


@pytest.fixture(scope="module")
def mnist_raw(mnist_root):
    """The bytes torchvision reads, untouched, to compare our splits against."""
    from torchvision.datasets import MNIST
    return {train: MNIST(str(mnist_root), train=train, download=False) for train in (True, False)}


# ----------------------------------------------------------------------------- quantize

def test_quantize_256_is_identity_on_bytes():
    b = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(quantize(b, 256), b)


def test_quantize_binarization_rule_is_byte_at_least_128():
    b = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(quantize(b, 2), (b >= 128).to(torch.uint8))


@pytest.mark.parametrize("levels", [2, 3, 4, 7, 16, 100, 255, 256])
def test_quantize_floats_match_bytes(levels):
    """ToTensor-style floats (byte / 255) land on the same level as the byte itself."""
    b = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(quantize(b.float() / 255, levels), quantize(b, levels))
    assert torch.equal(quantize(b.double() / 255, levels), quantize(b, levels))


def test_quantize_scales_first_so_levels_survive():
    """The public pitfall: floor(bytes * L) without scaling collapses to {0, L-1}. Ours keeps all L."""
    x = torch.linspace(0, 1, 1000)
    for levels in (4, 16, 256):
        assert len(quantize(x, levels).unique()) == levels
        assert len(quantize((x * 255).round().to(torch.uint8), levels).unique()) == levels


def test_quantize_rejects_unscaled_floats_and_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        quantize(torch.arange(256).float(), 16)  # bytes as floats: would collapse, so refuse
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        quantize(torch.tensor([0.5, float("nan")]), 16)
    for bad in (1, 257, 0, -3, 2.5, True):
        with pytest.raises(ValueError, match="2..256"):
            quantize(torch.zeros(3, dtype=torch.uint8), bad)
    for dtype in (torch.int64, torch.int32, torch.bool):
        with pytest.raises(TypeError, match="uint8"):
            quantize(torch.zeros(3, dtype=dtype), 4)
    with pytest.raises(TypeError):
        quantize([0, 1, 2], 4)


def test_quantize_accepts_numpy_and_keeps_shape():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    q = quantize(a, 8)
    assert q.dtype == torch.uint8 and q.shape == (2, 3, 4)
    assert torch.equal(q, quantize(torch.from_numpy(a), 8))


@settings(max_examples=200, deadline=None)
@given(levels=st.integers(2, 256), x=st.floats(0, 1), y=st.floats(0, 1))
def test_quantize_is_monotone_and_in_range(levels, x, y):
    q = quantize(torch.tensor([x, y], dtype=torch.float64), levels).long()
    assert 0 <= q.min() and q.max() <= levels - 1
    if x <= y:
        assert q[0] <= q[1]
    assert q[0] == min(int(np.floor(x * levels)), levels - 1)


# ----------------------------------------------------------------------------- real MNIST

def test_mnist_256_levels_keeps_every_byte(mnist_root, mnist_raw):
    train = load_dataset("mnist", "train", levels=256, root=mnist_root, download=False)
    assert train.images.dtype == torch.uint8 and train.images.shape[1:] == (1, 28, 28)
    assert torch.equal(train.images[:, 0], mnist_raw[True].data[:55000])
    assert len(train.images.unique()) == 256


def test_mnist_binarized_equals_byte_at_least_128(mnist_binary, mnist_raw):
    test = mnist_binary["test"]
    assert test.levels == 2 and set(test.images.unique().tolist()) == {0, 1}
    assert torch.equal(test.images[:, 0], (mnist_raw[False].data >= 128).to(torch.uint8))


def test_mnist_splits_sizes_disjoint_and_labelled(mnist_root, mnist_raw, mnist_binary):
    test = mnist_binary["test"]
    assert len(test) == 10_000 and test.split == "test"
    train = load_dataset("mnist", "train", levels=256, root=mnist_root, download=False)
    val = load_dataset("mnist", "val", levels=256, root=mnist_root, download=False)
    assert (len(train), len(val)) == (55_000, 5_000)
    # train + val is the official training set, in order: val is its last 5,000 images, so disjoint
    assert torch.equal(torch.cat([train.images, val.images])[:, 0], mnist_raw[True].data)
    assert torch.equal(torch.cat([train.labels, val.labels]), mnist_raw[True].targets)
    for d in (train, val, test):
        assert d.labels.dtype == torch.int64 and d.labels.shape == (len(d),)
        assert set(d.labels.unique().tolist()) == set(range(10))
    small_val = load_dataset("mnist", "val", levels=256, root=mnist_root, download=False, val_size=1000)
    assert len(small_val) == 1000 and torch.equal(small_val.images, val.images[-1000:])
    with pytest.raises(ValueError, match="val_size"):
        load_dataset("mnist", "val", root=mnist_root, download=False, val_size=60_000)


def test_subset_takes_the_first_k(mnist_binary):
    s = subset(mnist_binary["test"], 7)
    assert len(s) == 7 and torch.equal(s.images, mnist_binary["test"].images[:7])
    assert s.levels == 2 and s.split == "test"


def test_bad_names_raise():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("imagenet", download=False)
    with pytest.raises(ValueError, match="split"):
        load_dataset("mnist", "validation", download=False)


# ----------------------------------------------------------------------------- stochastic binarization

def write_idx(path, data):
    """An MNIST-format (idx) file: magic, dimensions (big-endian int32), then the bytes."""
    data = np.asarray(data, dtype=np.uint8)
    header = np.array([0x800 + data.ndim, *data.shape], dtype=">i4").tobytes()
    path.write_bytes(header + data.tobytes())


@pytest.fixture
def fake_mnist(tmp_path):
    """A tiny MNIST on disk: 120 training and 40 test images of 16x16 pixels, every byte 0..255
    once per image (the same pattern in both files), read by torchvision like the real one."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    pattern = np.arange(256, dtype=np.uint8).reshape(16, 16)
    for prefix, n in (("train", 120), ("t10k", 40)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", np.broadcast_to(pattern, (n, 16, 16)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10)
    return tmp_path  # the loaders' caches are keyed by root: a fresh tmp_path is never cached


def stochastic(root, split, **kw):
    return load_dataset("mnist", split, levels=2, root=root, download=False, binarization="stochastic", **kw)


def test_stochastic_binarization_is_fixed_bernoulli_of_the_intensity(fake_mnist):
    train = stochastic(fake_mnist, "train", val_size=20)
    data_module._stochastic_split.cache_clear()  # the same images again come from the seed, not a cache
    assert torch.equal(stochastic(fake_mnist, "train", val_size=20).images, train.images)
    bits = train.images[:, 0].double()                      # [100, 16, 16], byte b sits at b's position
    assert set(bits.unique().tolist()) == {0, 1}
    intensity = torch.arange(256, dtype=torch.float64).reshape(16, 16) / 255
    assert (bits[:, 0, 0] == 0).all() and (bits[:, 15, 15] == 1).all()  # bytes 0 and 255
    per_band = (bits.mean(0) - intensity).flatten().view(8, 32).mean(1)  # 3,200 draws per band
    assert per_band.abs().max() < 0.03, per_band
    threshold = load_dataset("mnist", "train", levels=2, root=fake_mnist, download=False, val_size=20)
    assert 0.2 < (train.images != threshold.images).double().mean() < 0.3  # 1/4 expected


def test_stochastic_splits_one_draw_per_official_file(fake_mnist):
    train, val = stochastic(fake_mnist, "train", val_size=20), stochastic(fake_mnist, "val", val_size=20)
    whole = torch.cat([train.images, val.images])
    other_cut = torch.cat([stochastic(fake_mnist, "train", val_size=50).images,
                           stochastic(fake_mnist, "val", val_size=50).images])
    assert torch.equal(whole, other_cut)  # train and val stay consistent for any val_size
    raw = torch.from_numpy(np.broadcast_to(np.arange(256, dtype=np.uint8).reshape(1, 16, 16),
                                           (120, 1, 16, 16)).copy())
    assert torch.equal(whole, binarize_stochastic(raw, STOCHASTIC_SEEDS["train"]))
    test = stochastic(fake_mnist, "test")
    assert len(test) == 40 and not torch.equal(test.images, whole[:40])  # same bytes, its own seed
    assert torch.equal(test.images, binarize_stochastic(raw[:40], STOCHASTIC_SEEDS["test"]))


def test_image_data_says_which_binarization_it_holds(fake_mnist):
    train = stochastic(fake_mnist, "train", val_size=20)
    assert train.binarization == "stochastic" and "binarization='stochastic'" in repr(train)
    assert subset(train, 3).binarization == "stochastic"
    default = load_dataset("mnist", "test", levels=2, root=fake_mnist, download=False)
    assert default.binarization == "threshold" and "threshold" in repr(default)
    assert load_dataset("mnist", "test", levels=4, root=fake_mnist, download=False).binarization is None
    assert set(BINARIZATIONS) == {"threshold", "stochastic"}


def test_binarization_arguments_are_checked(fake_mnist):
    for levels in (4, 256):
        with pytest.raises(ValueError, match="pass levels=2"):
            load_dataset("mnist", "test", levels=levels, root=fake_mnist, binarization="stochastic")
    with pytest.raises(ValueError, match="binarization must be one of"):
        load_dataset("mnist", "test", levels=2, root=fake_mnist, binarization="dynamic")
    with pytest.raises(TypeError, match="uint8"):
        binarize_stochastic(torch.rand(2, 2), 0)


def test_real_mnist_stochastic_binarization(mnist_root, mnist_raw, mnist_binary):
    test = stochastic(mnist_root, "test")
    data_module._stochastic_split.cache_clear()
    assert torch.equal(stochastic(mnist_root, "test").images, test.images)  # fixed across calls
    intensity = mnist_raw[False].data.double() / 255
    bits = test.images[:, 0].double()
    assert abs(bits.mean() - intensity.mean()) < 2e-3
    grey = (intensity > 0.2) & (intensity < 0.8)  # where a draw can go either way
    assert abs(bits[grey].mean() - intensity[grey].mean()) < 0.01
    differ = (test.images != mnist_binary["test"].images).double().mean()
    assert 0.01 < differ < 0.1, differ  # not the threshold, but the same digits
    assert test.binarization == "stochastic" and mnist_binary["test"].binarization == "threshold"
    drawn = binarize_stochastic(mnist_raw[True].data[:, None], STOCHASTIC_SEEDS["train"])
    assert torch.equal(stochastic(mnist_root, "val").images, drawn[-5000:])  # one draw, then cut


# ----------------------------------------------------------------------------- offline behaviour

@pytest.mark.parametrize("name, first_file", [("mnist", "MNIST/raw/train-images-idx3-ubyte"),
                                              ("fashion_mnist", "FashionMNIST/raw/t10k-labels-idx1-ubyte"),
                                              ("cifar10", "cifar-10-batches-py/data_batch_1")])
def test_missing_files_offline_error_names_paths_and_writes_nothing(tmp_path, name, first_file):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset(name, "test", root=tmp_path, download=False)
    assert str(tmp_path / first_file) in str(err.value)
    assert "PIXELCNN_DATA" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # download=False never writes (CI's copy is read-only)


def test_failed_download_error_names_paths(tmp_path, monkeypatch):
    from torchvision import datasets

    def refuse(self):
        raise RuntimeError("HTTP Error 403: Forbidden")
    monkeypatch.setattr(datasets.MNIST, "download", refuse)  # never touches the network
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("mnist", "train", root=tmp_path, download=True)
    msg = str(err.value)
    assert "403" in msg and str(tmp_path / "MNIST/raw/train-labels-idx1-ubyte") in msg


def test_root_resolution_env_then_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELCNN_DATA", str(tmp_path / "from_env"))
    assert default_root() == tmp_path / "from_env"
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "from_env")):
        load_dataset("mnist", download=False)
    monkeypatch.delenv("PIXELCNN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_root() == tmp_path / "cache" / "pixelcnn_lib"


# ----------------------------------------------------------------------------- photo patches

def test_photo_patches_shape_levels_and_determinism():
    p = photo_patches(size=8, levels=256)
    assert isinstance(p, ImageData) and p.images.dtype == torch.uint8
    assert p.images.shape == (75 * 64, 3, 8, 8)  # 600x512 photo on an 8-pixel grid
    assert torch.equal(p.labels, torch.zeros(len(p), dtype=torch.long))
    assert len(p.images.unique()) > 200  # a real photo, not a constant
    assert torch.equal(photo_patches(size=8, levels=256).images, p.images)
    q = photo_patches(size=5, levels=4, n=50)
    assert q.images.shape == (50, 3, 5, 5) and q.levels == 4
    assert set(q.images.unique().tolist()) <= {0, 1, 2, 3} and len(q.images.unique()) > 1
    assert torch.equal(q.images, quantize(photo_patches(size=5, levels=256, n=50).images, 4))


def test_photo_patches_splits_partition_all():
    full = photo_patches(size=16)
    train, test = photo_patches(size=16, split="train"), photo_patches(size=16, split="test")
    assert len(train) + len(test) == len(full) and len(test) == len(full) // 5
    assert torch.equal(test.images, full.images[4::5])
    with pytest.raises(ValueError, match="patches"):
        photo_patches(size=16, n=len(full) + 1)


def test_command_line_dataset_names_load_in_python_too():
    """load_dataset takes the CLI's names: binarized-mnist is MNIST at 2 levels, stochastic."""
    from fake_mnist import write_fake_mnist
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        root = write_fake_mnist(Path(tmp))
        b = load_dataset("binarized-mnist", "test", root=root, download=False)
        same = load_dataset("mnist", "test", levels=2, root=root, download=False,
                            binarization="stochastic")
        assert b.levels == 2 and b.binarization == "stochastic" and torch.equal(b.images, same.images)
        t = load_dataset("binarized-mnist", "test", root=root, download=False,
                         binarization="threshold")
        assert t.binarization == "threshold"
        with pytest.raises(ValueError, match="binarized-mnist has 2 levels"):
            load_dataset("binarized-mnist", "test", levels=16, root=root, download=False)


def test_image_data_len_slicing_and_subset():
    images = torch.arange(5 * 4, dtype=torch.uint8).reshape(5, 1, 2, 2) % 4
    data = ImageData(images, torch.arange(5), 4, "toy", "train")
    part = data[1:3]
    assert isinstance(part, ImageData) and len(part) == 2 and part.levels == 4
    assert torch.equal(part.images, images[1:3]) and part.labels.tolist() == [1, 2]
    assert len(data[2]) == 1 and data[-1].labels.tolist() == [4]
    assert data[data.labels % 2 == 0].labels.tolist() == [0, 2, 4]
    assert data.subset(3).labels.tolist() == [0, 1, 2]
