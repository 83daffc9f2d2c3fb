"""Receptive fields: the exact map from the model equals the analytic map from the kernels,
the blind spot is where the book says it is, and the gated model has none."""
import pytest
import torch

from pixelcnn_lib import GatedPixelCNN, PixelCNN
from pixelcnn_lib.receptive import (analytic_field, analytic_field_of, blind_spot,
                                    dependency_map, influence_map, past, structural_copy)
from causality import perturbation_effects, raster_index

MODELS = {
    "pixelcnn-3": lambda: PixelCNN(1, 4, 6, 3),
    "pixelcnn-rgb-5x5": lambda: PixelCNN(3, 4, 6, 2, kernel_size=5),
    "gated": lambda: GatedPixelCNN(1, 4, 6, 4, causal_kernel_size=3),
    "gated-rgb-dilated": lambda: GatedPixelCNN(3, 4, 6, 3, 2, causal_kernel_size=5, dilations=[2, 1]),
    "gated-one-stack": lambda: GatedPixelCNN(1, 4, 6, 3, kernel_size=5, two_stacks=False),
    "relu-two-stacks": lambda: GatedPixelCNN(1, 4, 6, 3, gated=False, dilations=[1, 3]),
}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("size", [(7, 9), (1, 4), (5, 1)])
def test_exact_map_equals_analytic_map_for_every_target(name, size):
    model = MODELS[name]()
    twin = structural_copy(model)
    H, W = size
    for c in range(model.in_channels):
        for i in range(H):
            for j in range(W):
                exact = dependency_map(model, (c, i, j), size, twin).any(0)
                assert torch.equal(exact, analytic_field_of(model, (c, i, j), size)), (name, c, i, j)


def test_exact_map_agrees_with_perturbing_the_real_model():
    """The structural map is not an idealisation: it is what a float64 perturbation sees."""
    torch.manual_seed(0)
    model = PixelCNN(1, 4, 16, 3)
    effects = sum(perturbation_effects(model, torch.randint(0, 4, (1, 6, 6))).int() for _ in range(3)) > 0
    order = raster_index(1, 6, 6)[0]
    twin = structural_copy(model)
    for (i, j) in [(3, 3), (5, 5), (2, 0)]:
        measured = effects[:, 0, i, j][order]  # which inputs moved output (i, j)
        assert (measured <= dependency_map(model, (i, j), (6, 6), twin)[0]).all()
        assert measured.sum() >= 0.9 * dependency_map(model, (i, j), (6, 6), twin).sum()


@pytest.mark.parametrize("n_layers", [2, 3, 5])
def test_pixelcnn_misses_the_up_right_wedge_that_the_gated_model_sees(n_layers):
    size, t = (12, 12), (8, 5)
    masked = analytic_field("masked", t, size, n_layers)
    spot = blind_spot(masked, t)
    # the wedge: row i - k, columns j + k + 1 .. j + n_layers (k = 1 .. n_layers - 1)
    wedge = torch.zeros(size, dtype=torch.bool)
    for k in range(1, n_layers):
        wedge[t[0] - k, t[1] + k + 1: t[1] + n_layers + 1] = True
    assert torch.equal(spot, wedge)
    gated = GatedPixelCNN(1, 4, 6, n_layers, causal_kernel_size=3)
    seen = dependency_map(gated, t, size)[0]
    assert seen[wedge].all(), "the two-stack model must see the whole wedge"
    assert not blind_spot(seen, t).any(), "the two-stack receptive field must have no holes"


def test_a_blind_spot_pixel_does_not_move_the_prediction_but_a_visible_one_does():
    torch.manual_seed(1)
    model = PixelCNN(1, 256, 16, 3).double().eval()
    t = (6, 4)
    spot = blind_spot(analytic_field_of(model, t, (9, 9)), t)
    i, j = spot.nonzero()[0].tolist()
    x = torch.randint(0, 256, (1, 1, 9, 9))
    with torch.no_grad():
        base = model(x)[0, :, 0, t[0], t[1]]
        for value in (0, 100, 255):
            x2 = x.clone()
            x2[0, 0, i, j] = value
            assert torch.equal(model(x2)[0, :, 0, t[0], t[1]], base)
        x2 = x.clone()
        x2[0, 0, t[0] - 1, t[1]] = (x[0, 0, t[0] - 1, t[1]] + 128) % 256
        assert not torch.equal(model(x2)[0, :, 0, t[0], t[1]], base)


def test_one_layer_has_no_blind_spot_and_past_is_raster_order():
    t = (3, 3)
    assert not blind_spot(analytic_field("masked", t, (6, 6), 1), t).any()
    p = past(t, (6, 6))
    assert p.sum() == 3 * 6 + 3 and p[3, 2] and not p[3, 3] and not p[3, 4]


def test_influence_map_is_zero_outside_the_field_and_nonzero_inside():
    torch.manual_seed(0)
    model = GatedPixelCNN(1, 4, 8, 3, 2, causal_kernel_size=3)
    x = torch.randint(0, 4, (1, 6, 6))
    infl = influence_map(model, x, (4, 3), y=torch.tensor([1]))
    field = dependency_map(model, (4, 3), (6, 6))
    assert infl.dtype == torch.float64
    assert (infl[~field] == 0).all()
    assert (infl[field] > 0).float().mean() > 0.5


def test_analytic_field_rejects_unknown_architecture():
    with pytest.raises(ValueError, match="arch"):
        analytic_field("lstm", (1, 1), (3, 3), 2)
