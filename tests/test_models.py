"""Causality, shapes and input checking of PixelCNN and GatedPixelCNN."""
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

from pixelcnn_lib import GatedPixelCNN, PixelCNN
from pixelcnn_lib.models import FullyVisibleModel, build_model, count_parameters
from pixelcnn_lib.masks import causal_mask, channel_groups
from pixelcnn_lib.receptive import dependency_map, structural_copy
from causality import assert_causal, raster_index

SWEEP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def model_and_input(draw):
    C = draw(st.sampled_from([1, 3]))
    L = draw(st.sampled_from([2, 3, 5, 256]))
    hidden = draw(st.sampled_from([3, 4, 5, 7, 8]))
    n_classes = draw(st.sampled_from([None, 3]))
    H, W = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    k = draw(st.sampled_from([1, 3, 5]))
    if draw(st.booleans()):
        model = PixelCNN(C, L, hidden, draw(st.integers(1, 3)), k, n_classes=n_classes)
    else:
        depth = draw(st.integers(2, 4))
        model = GatedPixelCNN(
            C, L, hidden, depth, n_classes, kernel_size=k,
            causal_kernel_size=draw(st.sampled_from([1, 3, 5, 7])),
            skip_channels=draw(st.sampled_from([None, 5])),
            dilations=draw(st.lists(st.integers(1, 3), min_size=depth - 1, max_size=depth - 1)),
            gated=draw(st.booleans()), two_stacks=draw(st.booleans()))
    torch.manual_seed(draw(st.integers(0, 1000)))
    for p in model.parameters():  # non-zero biases everywhere: padded borders must stay causal
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randint(0, L, (C, H, W))
    y = None if n_classes is None else torch.tensor([draw(st.integers(0, 2))])
    return model, x, y


@SWEEP
@given(model_and_input())
def test_no_logit_depends_on_its_own_or_later_subpixels(case):
    model, x, y = case
    assert_causal(model, x, y)


@pytest.mark.parametrize("make", [
    lambda: PixelCNN(3, 4, 12, 2),
    lambda: GatedPixelCNN(3, 4, 12, 3),
    lambda: GatedPixelCNN(3, 4, 13, 3, 2, gated=False),
    lambda: GatedPixelCNN(3, 4, 14, 3, two_stacks=False),
], ids=["pixelcnn", "gated", "relu", "one-stack"])
def test_colour_channels_read_earlier_channels_of_the_same_pixel(make):
    """No over-masking: G reads the current R, B the current R and G (a public bug removed them).

    Checked on the exact structural map: with random weights a ReLU may silence a path for
    a given input, but the architecture must keep it.
    """
    torch.manual_seed(0)
    model = make()
    y = torch.tensor([1]) if model.n_classes else None
    assert_causal(model, torch.randint(0, 4, (3, 3, 3)), y)
    twin = structural_copy(model)
    for c in range(3):
        seen = dependency_map(model, (c, 1, 1), (3, 3), twin)
        assert seen[:c, 1, 1].all(), f"channel {c} must read channels < {c} of its own pixel"
        assert not seen[c:, 1, 1].any(), f"channel {c} must not read channels >= {c} of its pixel"
        assert seen[:, 1, 0].all() and seen[:, 0].all(), "all channels of earlier pixels are visible"


def current_pixel_dependence(model, x, L):
    """Max |logit change| of G when the current R changes, of B for R, of B for G (centre pixel)."""
    model = model.double().eval()
    i, j = x.shape[2] // 2, x.shape[3] // 2
    with torch.no_grad():
        base = model(x)[:, :, :, i, j]
        gaps = {}
        for target, source in [(1, 0), (2, 0), (2, 1)]:
            x2 = x.clone()
            x2[:, source, i, j] = (x[:, source, i, j] + L // 2) % L
            gaps[target, source] = (model(x2)[:, :, target, i, j] - base[:, :, target]).abs().max()
    return gaps


@pytest.mark.parametrize("hidden", [8, 9, 12, 16])
@pytest.mark.parametrize("variant", [dict(), dict(gated=False)], ids=["gated", "relu"])
def test_every_colour_group_starts_alive_in_narrow_rgb_models(hidden, variant):
    """At init G must depend on the current R, and B on the current R and G, over a batch.

    With PyTorch's default init, 3-5 channels per colour group and the skip sum dominated by
    biases, the head's ReLUs of a whole group were dead for every input in about 3 models of
    10 at these widths (the current R then never reaches G, and training cannot fix it).
    """
    L = 256
    x = torch.randint(0, L, (64, 3, 5, 5), generator=torch.Generator().manual_seed(0))
    for seed in range(6):
        torch.manual_seed(seed)
        gaps = current_pixel_dependence(GatedPixelCNN(3, L, hidden, 5, **variant), x, L)
        dead = [f"{'RGB'[t]} on the current {'RGB'[s]}" for (t, s), gap in gaps.items() if gap == 0]
        assert not dead, f"seed {seed}: no dependence of {', '.join(dead)}"


def test_the_alive_init_pairs_each_colour_group_and_leaves_greyscale_alone(monkeypatch):
    torch.manual_seed(0)
    rgb = GatedPixelCNN(3, 4, 9, 3, skip_channels=12)
    for conv, per_group in [(b.skip, 4) for b in rgb.blocks] + [(rgb.head[1], 4)]:
        w = conv.weight[:, :, 0, 0]
        for first in range(0, 3 * per_group, per_group):  # one (w, -w) pair per group, no bias
            assert torch.equal(w[first + 1], -w[first]) and not conv.bias[first:first + 2].any()
            assert not torch.equal(w[first + 2], -w[first + 1])  # the rest keep PyTorch's init
    torch.manual_seed(0)
    grey = GatedPixelCNN(1, 4, 9, 3).state_dict()
    monkeypatch.setattr("pixelcnn_lib.models.mirrored_init", lambda conv, groups: None)
    torch.manual_seed(0)
    default = GatedPixelCNN(1, 4, 9, 3).state_dict()
    assert all(torch.equal(grey[k], default[k]) for k in default)


def test_gating_keeps_colour_groups_when_width_is_not_a_multiple_of_three():
    """Gate halves pair channel k with k + h: both must lie in the same colour group."""
    for h in (3, 4, 5, 7, 64, 65):
        g = channel_groups(h, 3)
        assert g.tolist() == sorted(g.tolist()) and set(g.tolist()) == {0, 1, 2}
        pre = torch.cat([g, g])
        assert torch.equal(pre[:h], pre[h:])


def test_masks_follow_the_raster_and_colour_rule():
    g = torch.arange(3)
    a, b = causal_mask(3, "A", g, g), causal_mask(3, "B", g, g)
    assert a[:, :, 0].all() and a[:, :, 1, 0].all()          # rows above, pixel to the left
    assert not a[:, :, 2].any() and not a[:, :, 1, 2].any()  # future rows and pixels
    assert torch.equal(a[:, :, 1, 1], torch.tensor([[0, 0, 0], [1, 0, 0], [1, 1, 0]]).float())
    assert torch.equal(b[:, :, 1, 1], torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]]).float())


def test_masked_weights_receive_no_gradient_and_stay_untouched():
    model = PixelCNN(1, 4, 6, 2)
    conv = model.convs[0]
    before = conv.weight.detach().clone()
    logits = model(torch.randint(0, 4, (2, 1, 5, 5)))
    logits.sum().backward()
    assert (conv.weight.grad[conv.mask == 0] == 0).all()
    assert torch.equal(conv.weight.detach(), before)  # the mask is never written into the weight


@pytest.mark.parametrize("C,H,W", [(1, 1, 1), (1, 28, 28), (3, 2, 7), (3, 32, 32)])
def test_logit_layout(C, H, W):
    for model in (PixelCNN(C, 7, 6, 2), GatedPixelCNN(C, 7, 6, 3, n_classes=2)):
        x = torch.randint(0, 7, (2, C, H, W))
        y = torch.tensor([0, 1]) if model.n_classes else None
        logits = model(x, y)
        assert logits.shape == (2, 7, C, H, W)
        loss = torch.nn.functional.cross_entropy(logits, x)
        assert torch.isfinite(loss)


def test_rebuild_from_config_gives_the_same_function():
    model = GatedPixelCNN(3, 5, 6, 3, 4, dilations=[1, 2], skip_channels=9)
    twin = build_model(type(model).__name__, model.config)
    twin.load_state_dict(model.state_dict())
    x, y = torch.randint(0, 5, (2, 3, 4, 4)), torch.tensor([0, 3])
    assert torch.equal(model(x, y), twin(x, y))


def test_effective_parameter_count_skips_masked_taps():
    model = PixelCNN(1, 2, 4, 1, kernel_size=3)  # one mask-A 3x3 conv: 4 of 9 taps open
    head = 4 * 2 + 2
    assert count_parameters(model) == 4 * 1 * 4 + 4 + head
    assert count_parameters(model) < sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(in_channels=2), ValueError, "in_channels"),
    (dict(color_levels=1), ValueError, "color_levels"),
    (dict(kernel_size=4), ValueError, "odd"),
    (dict(in_channels=3, hidden_channels=2), ValueError, "colour groups"),
])
def test_bad_construction_is_refused_clearly(kwargs, error, words):
    for cls in (PixelCNN, GatedPixelCNN):
        with pytest.raises(error, match=words):
            cls(**kwargs)


def test_even_causal_kernel_and_bad_dilations_are_refused():
    with pytest.raises(ValueError, match="causal_kernel_size"):
        GatedPixelCNN(causal_kernel_size=6)
    with pytest.raises(ValueError, match="dilations"):
        GatedPixelCNN(n_layers=3, dilations=[1])
    with pytest.raises(ValueError, match="n_layers"):
        GatedPixelCNN(n_layers=1)


@pytest.mark.parametrize("x,y,error,words", [
    (torch.rand(1, 1, 4, 4), None, TypeError, "integer colour levels"),
    (torch.full((1, 1, 4, 4), 4), None, ValueError, r"\[0, 3\]"),
    (torch.full((1, 1, 4, 4), -1), None, ValueError, r"\[0, 3\]"),
    (torch.zeros(1, 3, 4, 4, dtype=torch.long), None, ValueError, "shape"),
    (torch.zeros(1, 4, 4, dtype=torch.long), None, ValueError, "shape"),
    (torch.zeros(2, 1, 4, 4, dtype=torch.long), None, ValueError, "labels y"),
    (torch.zeros(2, 1, 4, 4, dtype=torch.long), torch.tensor([0, 5]), ValueError, "labels must lie"),
    (torch.zeros(2, 1, 4, 4, dtype=torch.long), torch.tensor([0.0, 1.0]), ValueError, "LongTensor"),
])
def test_bad_input_gets_a_clear_error(x, y, error, words):
    model = GatedPixelCNN(1, 4, 4, 2, n_classes=3)
    with pytest.raises(error, match=words):
        model(x, y)


def test_unconditional_model_refuses_labels():
    with pytest.raises(ValueError, match="unconditional"):
        PixelCNN(1, 4, 4, 2)(torch.zeros(1, 1, 3, 3, dtype=torch.long), torch.tensor([0]))


@pytest.mark.parametrize("C,L,n_classes", [(1, 2, None), (3, 4, None), (1, 3, 5)])
def test_fully_visible_model_is_exactly_causal_and_sees_the_whole_past(C, L, n_classes):
    torch.manual_seed(0)
    model = FullyVisibleModel(C, L, (3, 4), n_classes)
    with torch.no_grad():  # nonzero weights everywhere the mask allows, so every allowed path shows
        model.linear.weight.copy_(torch.rand_like(model.linear.weight) + 0.1)
    x = torch.randint(0, L, (C, 3, 4))
    y = torch.tensor([1]) if n_classes else None
    effects = assert_causal(model, x, y)
    order = raster_index(C, 3, 4)
    for p in range(C * 12):  # no over-masking: every later sub-pixel reads p
        assert effects[p][order > p].all(), f"sub-pixel #{p} does not reach every later logit"


def test_fully_visible_model_refuses_other_image_sizes():
    model = FullyVisibleModel(1, 2, (28, 28))
    with pytest.raises(ValueError, match="built for 28x28"):
        model(torch.zeros(1, 1, 14, 14, dtype=torch.long))
    assert count_parameters(model) == 2 * 784 * 783 // 2 + 2 * 784
