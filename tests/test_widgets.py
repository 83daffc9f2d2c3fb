"""The widgets' Python side: the data they ship, their synced state, and that the JavaScript the
book serves is the JavaScript the installed Python packages expect."""
import importlib.metadata
import json
import math
import os
import re
from pathlib import Path

import pytest
import torch
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

from pixelcnn_lib import GatedPixelCNN, PixelCNN
from pixelcnn_lib.receptive import analytic_field, influence_map, influence_maps
from pixelcnn_lib.widgets import (MaskExplorer, ReceptiveFieldExplorer, TrainedFieldView, auto_stride,
                                  esm_bundle, log_codes, summarise)

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "book" / "_vendor" / "vendor"
REQUIRED = os.environ.get("PIXELCNN_REQUIRE_BUILD") == "1"

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def test_batched_influence_equals_influence_map():
    torch.manual_seed(0)
    model, x = GatedPixelCNN(3, 4, 6, 3, causal_kernel_size=3, dilations=[1, 2]), torch.randint(0, 4, (3, 5, 6))
    targets = [(c, i, j) for c in range(3) for i in range(5) for j in range(0, 6, 2)]
    maps = influence_maps(model, x, targets, batch=7)
    for t, m in zip(targets, maps):
        ref = influence_map(model, x, t)
        assert torch.allclose(m, ref, rtol=1e-10, atol=1e-300) and torch.equal(m > 0, ref > 0), t


def test_log_codes_keeps_zero_and_max_and_order():
    maps = torch.tensor([[[0.0, 1e-9, 1e-3], [0.5, 1.0, 0.0]], [[0.0] * 3, [0.0] * 3]])
    codes = log_codes(maps)
    assert codes.dtype == torch.uint8
    assert codes[0].tolist() == [[0, 1, 1 + round(254 * 0.25)], [1 + round(254 * (1 - 0.30103 / 4)), 255, 0]]
    assert not codes[1].any()


def test_trained_view_ships_exact_support_inside_the_analytic_field():
    torch.manual_seed(1)
    model, x = PixelCNN(1, 4, 8, 3), torch.randint(0, 4, (1, 6, 7))
    w = TrainedFieldView(model, x, stride=2)
    H, W, s = 6, 7, 2
    codes = w.codes()
    assert w.influence_encoding == "deflate" and torch.equal(codes, log_codes(w.maps))
    assert len(codes) == 3 * 4 == len(w.maxima)
    assert w.maxima == pytest.approx(w.maps.flatten(1).amax(1).tolist(), rel=1e-3)
    for n, (i, j) in enumerate((i, j) for i in range(0, H, s) for j in range(0, W, s)):
        field = analytic_field(**w.settings((i, j)))
        assert torch.equal(codes[n] > 0, w.maps[n] > 0)
        assert not (codes[n].bool() & ~field).any(), "influence outside the analytic field"
    w.target = (3, 4)  # snapped to the stride grid, rounding half up as the page does
    assert w.target == (4, 4)


def test_trained_view_opens_exactly_on_the_requested_target():
    """A target off the stride grid (the prose's pixel) gets its own exact map: the widget opens on
    it, not on the nearest grid pixel, and clicks elsewhere still snap to the grid."""
    torch.manual_seed(4)
    model, x = PixelCNN(1, 4, 8, 3), torch.randint(0, 4, (1, 9, 10))
    w = TrainedFieldView(model, x, stride=4, target=(6, 5))
    n_grid = 3 * 3
    assert w.target == (6, 5) and w.extra_targets == [(6, 5)] and w.shown() == ((6, 5), n_grid)
    assert len(w.maps) == len(w.codes()) == len(w.maxima) == n_grid + 1
    assert torch.allclose(w.maps[n_grid], influence_map(model, x, (0, 6, 5)).sum(0), rtol=1e-10, atol=0)
    w.target = (5, 6)
    assert w.target == (4, 8) and w.shown() == ((4, 8), 1 * 3 + 2)
    assert torch.allclose(w.maps[w.shown()[1]], influence_map(model, x, (0, 4, 8)).sum(0), rtol=1e-10, atol=0)
    w.set_state({"target": [6, 5]})  # the page sends the extra target back: kept exactly
    assert w.target == (6, 5)
    on_grid = TrainedFieldView(model, x, stride=4, target=(4, 8))
    assert on_grid.extra_targets == [] and len(on_grid.maps) == n_grid and on_grid.target == (4, 8)
    default = TrainedFieldView(model, x, stride=4)  # no target asked for: the grid pixel nearest (6, 5)
    assert default.target == (8, 4) and default.extra_targets == []
    with pytest.raises(ValueError, match="outside"):
        TrainedFieldView(model, x, target=(9, 0))


def test_explorer_counts_and_validation():
    w = ReceptiveFieldExplorer(arch="masked", n_layers=3, image_size=(12, 12), target=(8, 5))
    assert w.counts == summarise(w.settings())[1] and w.counts["blind"] == 3
    w.arch = "two_stacks"
    assert w.counts["blind"] == 0 and w.counts["seen"] == int(w.field().sum())
    w.arch, w.n_layers = "masked", 1
    w.arch = "gated"  # the gated model needs a causal block plus one gated block
    assert w.n_layers == 2
    w.image_size = (3, 4)
    assert w.target == (2, 3) and w.counts["past"] == 11
    for bad in (dict(kernel_size=4), dict(n_layers=0), dict(arch="resnet"), dict(image_size=(0, 3))):
        with pytest.raises(traitlets.TraitError):
            ReceptiveFieldExplorer(**bad)


def test_front_end_changes_reach_python():
    """What the page sends when the reader clicks a pixel or moves the slider (a comm `update`,
    applied with set_state): the Python side follows, counts included, for the next cell to read."""
    w = ReceptiveFieldExplorer(arch="masked", n_layers=3, image_size=(12, 12))
    w.set_state({"target": [5, 7], "n_layers": 5})
    assert w.target == (5, 7) and w.n_layers == 5 and w.counts == summarise(w.settings())[1]
    w.set_state({"arch": "gated", "n_layers": 4, "dilation_cycle": [1, 2]})
    assert w.settings()["dilations"] == [1, 2, 1] and w.counts == summarise(w.settings())[1]
    m = MaskExplorer()
    m.set_state({"mask_type": "B", "rgb": True, "kernel_size": 3})
    assert m.mask().shape == (3, 3, 3, 3) and m.mask()[0, 0, 1, 1] == 1


def test_mask_explorer_shows_causal_mask():
    m = MaskExplorer(kernel_size=3, mask_type="A", rgb=True).mask()
    assert m[1, 0, 1, 1] == 1 and m[0, 1, 1, 1] == 0, "G reads the current R, R not G"


def test_auto_stride_keeps_the_shipped_maps_small():
    assert [auto_stride((n, n)) for n in (8, 21, 22, 28, 32)] == [1, 1, 2, 2, 3]
    for size in [(1, 1), (1, 40), (64, 64), (96, 96)]:
        s = auto_stride(size)
        assert math.ceil(size[0] / s) * math.ceil(size[1] / s) * size[0] * size[1] <= 200_000 or s == max(size)


def test_trained_view_state_stays_small_for_mnist():
    """What a chapter saves for a 28 x 28 image with the default stride: well under 100 kB."""
    torch.manual_seed(2)
    model = GatedPixelCNN(1, 2, 8, 4, causal_kernel_size=5)
    w = TrainedFieldView(model, torch.randint(0, 2, (1, 28, 28)), batch=64)
    assert w.stride == 2 and len(w.codes()) == 14 * 14
    state, _, buffers = _remove_buffers(w.get_state())  # as the notebook saves it (buffers in base64)
    saved = len(json.dumps({k: v for k, v in state.items() if k != "_esm"})) + sum(4 * len(b) // 3 for b in buffers)
    assert saved < 100_000, saved


def test_widget_module_stays_small():
    """Every widget saves its module (field.js + dom.js + widgets.js) in the notebook: keep it lean."""
    assert len(esm_bundle().encode()) < 40_000


def test_widgets_state_is_plain_and_carries_the_module():
    w = ReceptiveFieldExplorer()
    state = w.get_state()
    assert state["_esm"] == esm_bundle() and state["_pxw_view"] == "field"
    json.dumps({k: v for k, v in state.items()})


# --- the JavaScript the book serves ---------------------------------------------------------------

def vendored_or_skip(path):
    if not path.is_file():
        msg = f"{path} missing: run `python tools/vendor_assets.py`"
        if REQUIRED:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def test_vendored_anywidget_is_the_installed_front_end():
    import anywidget

    installed = Path(anywidget.__file__).parent / "nbextension" / "index.js"
    for path in [vendored_or_skip(VENDOR / "anywidget" / "index.js")]:
        assert path.read_bytes() == installed.read_bytes(), f"{path} differs from anywidget {anywidget.__version__}"


def test_vendored_html_manager_pairs_with_installed_ipywidgets():
    versions = json.loads(vendored_or_skip(VENDOR / "versions.json").read_text())
    manager = versions["@jupyter-widgets/html-manager"]
    ipywidgets = importlib.metadata.version("ipywidgets")
    # html-manager 1.x embeds ipywidgets 8 state (0.20.x pairs with ipywidgets 7).
    assert (int(manager.split(".")[0]), int(ipywidgets.split(".")[0])) == (1, 8), (manager, ipywidgets)
    embed = vendored_or_skip(VENDOR / "html-manager" / "embed-amd.js").read_text(errors="replace")
    assert re.search(r"@jupyter-widgets/base|jupyter-widgets", embed)
