"""The cached sampler is the naive sampler, only faster: same logits, same draws, same images.

Models run in float64 so that 'the same logits' can be checked to ~1e-12 and the
multinomial draws (which see the logits) come out identical for the same seed.
"""
import pytest
import torch

from pixelcnn_lib import GatedPixelCNN, PixelCNN
from pixelcnn_lib.fast_sampling import CachedLayer, CachedModel, sample_cached
from pixelcnn_lib.sampling import sample

L = 5  # colour levels: small, so draws hit many different levels

VARIANTS = {
    "gated": dict(),
    "gated-dilated": dict(dilations=[1, 2, 3]),
    "ungated": dict(gated=False),
    "one-stack": dict(two_stacks=False),
    "one-stack-dilated": dict(two_stacks=False, dilations=[2, 1, 2]),
}


def gated(C, n_classes=None, **kw):
    torch.manual_seed(0)
    return GatedPixelCNN(C, L, hidden_channels=7, n_layers=4, n_classes=n_classes, **kw).double()


def pixelcnn(C, n_classes=None, kernel_size=3):
    torch.manual_seed(0)
    return PixelCNN(C, L, hidden_channels=7, n_layers=3, n_classes=n_classes,
                    kernel_size=kernel_size).double()


def labels_for(model, n):
    return None if model.n_classes is None else torch.arange(n) % model.n_classes


def step_errors(model, x, y=None):
    """Max |cached - full forward| logit gap at every sub-pixel, teacher-forcing the image x."""
    model.eval()
    n, C, H, W = x.shape
    with torch.no_grad():
        full = model(x, y)
        cache = CachedModel(model, torch.zeros_like(x), y)  # the future is unknown (zeros)
        gaps = torch.zeros(C, H, W, dtype=torch.float64)
        for i in range(H):
            cache.start_row(i)
            for j in range(W):
                for c in range(C):
                    gaps[c, i, j] = (cache.step(i, j, c) - full[:, :, c, i, j]).abs().max()
                    cache.put(i, j, c, x[:, c, i, j])
    return gaps


def image(C, H=5, W=6, n=3, seed=1):
    return torch.randint(0, L, (n, C, H, W), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("C", [1, 3])
@pytest.mark.parametrize("n_classes", [None, 4])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_step_matches_a_full_forward_pass(C, n_classes, variant):
    model = gated(C, n_classes, **VARIANTS[variant])
    x = image(C)
    assert step_errors(model, x, labels_for(model, len(x))).max() < 1e-12


@pytest.mark.parametrize("C", [1, 3])
@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_each_step_matches_for_the_original_pixelcnn(C, kernel_size):
    model = pixelcnn(C, n_classes=3, kernel_size=kernel_size)
    x = image(C)
    assert step_errors(model, x, labels_for(model, len(x))).max() < 1e-12


def test_float32_models_agree_to_float32_rounding():
    torch.manual_seed(0)
    model = GatedPixelCNN(3, 16, hidden_channels=12, n_layers=5, n_classes=3, dilations=[1, 2, 1, 2])
    x = torch.randint(0, 16, (2, 3, 5, 5))
    assert step_errors(model, x, torch.tensor([0, 2])).max() < 1e-4


# Mutants: each is a plausible indexing bug; the step check above must catch every one.
def read_the_current_row(orig):  # vertical stack not down-shifted: row i sees row i itself
    return lambda self, i, nxt: orig(self, i + 1, nxt) if i + 1 < self.h_in.shape[1] else orig(self, i, nxt)


def lag_one_row(orig):           # vertical stack two rows behind
    return lambda self, i, nxt: orig(self, max(i - 1, 0), nxt)


def window_one_right(orig):      # horizontal window shifted onto the next (unknown) pixel
    return lambda self, row, j: row[:, j + 1: j + self.p + 2: self.d]


def window_one_left(orig):       # horizontal window missing the current pixel
    return lambda self, row, j: row[:, max(j - 1, 0): max(j - 1, 0) + self.p + 1: self.d]


@pytest.mark.parametrize("mutant,method", [(read_the_current_row, "start_row"),
                                           (lag_one_row, "start_row"),
                                           (window_one_right, "window"),
                                           (window_one_left, "window")])
@pytest.mark.parametrize("variant", ["gated", "one-stack"])
def test_the_step_check_catches_off_by_one_caches(monkeypatch, mutant, method, variant):
    model = gated(3, **VARIANTS[variant])
    x = image(3)
    assert step_errors(model, x).max() < 1e-12
    monkeypatch.setattr(CachedLayer, method, mutant(getattr(CachedLayer, method)))
    assert step_errors(model, x).max() > 1e-6


SAMPLING_CASES = [
    ("grey 5x6", lambda: gated(1), (1, 5, 6)),
    ("grey 5x6 labels dilated", lambda: gated(1, 3, dilations=[1, 2, 1]), (1, 5, 6)),
    ("rgb 4x4", lambda: gated(3), (3, 4, 4)),
    ("rgb 4x4 labels ungated", lambda: gated(3, 4, gated=False), (3, 4, 4)),
    ("rgb 4x4 one stack", lambda: gated(3, 2, two_stacks=False, dilations=[1, 2, 1]), (3, 4, 4)),
    ("pixelcnn rgb 4x4", lambda: pixelcnn(3, 3), (3, 4, 4)),
    ("pixelcnn grey 5x6", lambda: pixelcnn(1), (1, 5, 6)),
    ("pixelcnn grey 5x6 labels k5", lambda: pixelcnn(1, 3, kernel_size=5), (1, 5, 6)),
]


@pytest.mark.parametrize("name,make,shape", SAMPLING_CASES, ids=[c[0] for c in SAMPLING_CASES])
def test_same_seed_same_samples_as_naive(name, make, shape):
    model = make()
    y = labels_for(model, 4)
    naive = sample(model, 4, shape, y, generator=7, temperature=1.3)
    cached = sample(model, 4, shape, y, generator=7, temperature=1.3, method="cached")
    assert torch.equal(naive, cached)
    assert len(naive.unique()) > 2  # the draws really vary: not a trivially equal image


def test_same_generator_object_is_consumed_identically():
    model = gated(1)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a = torch.cat([sample(model, 2, (1, 4, 5), generator=g1) for _ in range(2)])
    b = torch.cat([sample_cached(model, 2, (1, 4, 5), generator=g2) for _ in range(2)])
    assert torch.equal(a, b)
    assert not torch.equal(a[:2], a[2:])


@pytest.mark.parametrize("C", [1, 3])
def test_the_global_generator_is_consumed_identically(C):
    """generator=None: after the same torch.manual_seed, naive and cached draw the same images."""
    model = gated(C, 3)
    y = torch.tensor([0, 1, 2])
    torch.manual_seed(4)
    naive = sample(model, 3, (C, 4, 5), y)
    after_naive = torch.rand(3)
    torch.manual_seed(4)
    cached = sample(model, 3, (C, 4, 5), y, method="cached")
    assert torch.equal(naive, cached) and torch.equal(torch.rand(3), after_naive)
    assert len(naive.unique()) > 2


@pytest.mark.parametrize("C", [1, 3])
def test_completion_keeps_given_pixels_and_matches_naive(C):
    model = gated(C, 3, dilations=[1, 2, 1])
    H, W = 5, 6
    init = image(C, H, W, n=1, seed=5)[0]
    keep = torch.zeros(H, W, dtype=torch.bool)
    keep[:2] = True
    keep[2, :3] = True  # top rows and part of the next one, as when completing a digit
    y = torch.tensor([0, 1, 2])
    naive = sample(model, 3, (C, H, W), y, generator=11, init=init, keep=keep)
    cached = sample(model, 3, (C, H, W), y, generator=11, init=init, keep=keep, method="cached")
    assert torch.equal(naive, cached)
    assert torch.equal(cached[:, :, keep], init[:, keep].expand(3, -1, -1))
    assert not torch.equal(cached[:, :, ~keep], init[:, ~keep].expand(3, -1, -1))


@pytest.mark.parametrize("C", [1, 3])
def test_pixelcnn_completion_matches_naive(C):
    model = pixelcnn(C, 3)
    init = image(C, 5, 6, n=1, seed=4)[0]
    keep = torch.zeros(5, 6, dtype=torch.bool)
    keep[:2] = True
    y = torch.tensor([2, 0])
    naive = sample(model, 2, (C, 5, 6), y, generator=8, init=init, keep=keep)
    cached = sample(model, 2, (C, 5, 6), y, generator=8, init=init, keep=keep, method="cached")
    assert torch.equal(naive, cached)
    assert torch.equal(cached[:, :, keep], init[:, keep].expand(2, -1, -1))


def test_completion_with_per_image_per_channel_keeps():
    """Some images keep a sub-pixel and others do not: draws happen, kept values survive."""
    model = gated(3)
    shape = (3, 4, 4)
    init = image(3, 4, 4, n=4, seed=9)
    keep = torch.rand(4, 3, 4, 4, generator=torch.Generator().manual_seed(2)) < 0.5
    keep[:, 1] = True  # every green sub-pixel is given: skipped by both samplers
    naive = sample(model, 4, shape, generator=5, init=init, keep=keep)
    cached = sample(model, 4, shape, generator=5, init=init, keep=keep, method="cached")
    assert torch.equal(naive, cached)
    assert torch.equal(cached[keep], init[keep])


def test_labels_are_respected():
    torch.manual_seed(0)
    model = GatedPixelCNN(1, L, hidden_channels=7, n_layers=4, n_classes=3).double()
    with torch.no_grad():
        for block in model.blocks:  # make the labels matter a lot
            block.label_h.weight.mul_(20)
    per_label = [sample_cached(model, 2, (1, 4, 4), y=k, generator=1) for k in range(3)]
    mixed = sample_cached(model, 6, (1, 4, 4), y=torch.tensor([0, 0, 1, 1, 2, 2]), generator=1)
    assert torch.equal(mixed, sample(model, 6, (1, 4, 4), y=torch.tensor([0, 0, 1, 1, 2, 2]), generator=1))
    assert not torch.equal(per_label[0], per_label[1]) and not torch.equal(per_label[1], per_label[2])
    with pytest.raises(ValueError, match="class-conditional"):
        sample_cached(model, 2, (1, 4, 4))


def test_training_mode_is_restored_and_float32_works():
    torch.manual_seed(0)
    model = GatedPixelCNN(1, 4, hidden_channels=6, n_layers=3).train()
    x = sample(model, 2, (1, 6, 6), generator=0, method="cached")
    assert model.training and x.dtype == torch.long and x.shape == (2, 1, 6, 6)
    model.eval()
    sample_cached(model, 1, (1, 3, 3), generator=0)
    assert not model.training


def test_unknown_models_are_refused_with_a_pointer_to_naive():
    class Other(GatedPixelCNN.__bases__[0]):
        pass
    model = Other(1, 4, None, {})
    model.dummy = torch.nn.Linear(1, 1)
    with pytest.raises(NotImplementedError, match="naive"):
        sample_cached(model, 1, (1, 3, 3), generator=0)
