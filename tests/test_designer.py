"""The mask designer's Python side: masks set from Python and read back, the model built from them,
its exactness against independent computations, the verdicts, and check_mask for the exercises."""
import json
import random
from pathlib import Path

import pytest
import torch
import traitlets

from causality import perturbation_effects, raster_index
from pixelcnn_lib import widgets
from pixelcnn_lib.designer import (DesignedStack, MaskDesigner, MaskReport, check_mask, design_field,
                                   designed_mask, designer_bundle, layer_masks, preset_table, preset_taps)
from pixelcnn_lib.masks import causal_mask
from pixelcnn_lib.receptive import analytic_field, blind_spot, past

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("torch_single_thread")
RGB = torch.arange(3)


@pytest.mark.parametrize("k", [3, 5, 7])
def test_presets_are_the_librarys_causal_masks(k):
    for t in "AB":
        w = MaskDesigner(kernel_size=k, preset=t)
        assert torch.equal(w.mask(), causal_mask(k, t, torch.arange(1), torch.arange(1)))
        w.rgb = True
        assert torch.equal(w.mask(), causal_mask(k, t, RGB, RGB))
    assert not MaskDesigner(kernel_size=k, preset="clear").mask().any()
    assert MaskDesigner(kernel_size=k, preset="full", rgb=True).mask().all()


def test_taps_set_from_python_read_back_as_the_mask():
    w = MaskDesigner(kernel_size=3, preset="A")
    w.toggle(1, 1)                   # open the centre
    w.toggle(0, 2)                   # close the up-right tap
    want = torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=torch.float32)
    assert torch.equal(w.mask()[0, 0], want) and w.taps == want.flatten().int().tolist()
    w.rgb = True
    w.set_channel_tap(0, 2)          # R reads B at the current pixel
    assert w.mask()[0, 2, 1, 1] == 1 and w.mask()[1, 0, 1, 1] == 1 and w.mask()[0, 1, 1, 1] == 0
    w.toggle(1, 1)                   # RGB centre: any open -> all closed
    assert not w.mask()[:, :, 1, 1].any()
    w.toggle(1, 1)
    assert w.mask()[:, :, 1, 1].all()
    # set_mask round trip, and a kernel size change keeps a preset a preset
    v = MaskDesigner()
    v.set_mask(causal_mask(5, "B", RGB, RGB))
    assert v.kernel_size == 5 and v.rgb and torch.equal(v.mask(), causal_mask(5, "B", RGB, RGB))
    v.kernel_size = 7
    assert torch.equal(v.mask(), causal_mask(7, "B", RGB, RGB))
    v.set_mask(want)
    assert not v.rgb and v.channel == 0 and torch.equal(v.mask()[0, 0], want)
    v.kernel_size = 5                # not a preset: padded with closed taps, centred
    assert torch.equal(v.mask()[0, 0, 1:4, 1:4], want) and v.mask().sum() == want.sum()


def test_front_end_changes_reach_python_and_bad_state_is_refused():
    w = MaskDesigner()
    w.set_state({"kernel_size": 5, "taps": preset_taps("B", 5), "n_layers": 2, "target": [3, 4]})
    assert w.kernel_size == 5 and w.mask()[0, 0, 2, 2] == 1 and w.target == (3, 4)
    assert w.counts == design_field(w.mask(), 2, (10, 11), (3, 4))[2] and w.verdict.startswith("leaks")
    w.set_state({"image_size": [3, 3], "target": [2, 2]})
    assert w.counts["past"] == 8
    w.image_size = (2, 2)            # from Python: the target follows into the image
    assert w.target == (1, 1)
    w.set_state({"rgb": True, "channel": 2})
    w.rgb = False
    assert w.channel == 0
    for bad in [dict(kernel_size=4), dict(taps=[1, 0]), dict(channel_taps=[2] * 9), dict(n_layers=0),
                dict(n_layers=9), dict(target=(10, 0)), dict(channel=1), dict(image_size=(0, 4))]:
        with pytest.raises(traitlets.TraitError):
            MaskDesigner(**bad)
    with pytest.raises(ValueError, match="kernel"):
        w.toggle(5, 0)  # the kernel is 5 x 5 now
    for bad in [torch.ones(4, 4), torch.ones(2, 2, 3, 3), torch.full((3, 3), 0.5)]:
        with pytest.raises(ValueError, match="mask"):
            check_mask(bad, 2)
    with pytest.raises(ValueError, match="shared"):
        w.set_mask(torch.eye(3)[:, :, None, None].expand(3, 3, 3, 3))


def test_widget_state_is_plain_and_carries_its_module():
    w = widgets.MaskDesigner(rgb=True)
    state = w.get_state()
    assert widgets.MaskDesigner is MaskDesigner and state["_esm"] == designer_bundle()
    assert "_pxw_view" not in state, "tests/test_book_browser.py drives _pxw_view widgets with its own checks"
    json.dumps(state)
    assert len(designer_bundle().encode()) < 40_000


def test_package_ships_every_widget_module():
    """pyproject's package data (a glob) covers every .js file a widget bundle inlines."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = [g for key in ("*", "pixelcnn_lib") for g in data.get(key, [])]
    shipped = {p.name for g in globs for p in (ROOT / "pixelcnn_lib").glob(g)}
    assert {"field.js", "dom.js", "widgets.js", "designer.js"} <= shipped


@pytest.mark.parametrize("rgb", [False, True])
def test_preset_stack_field_is_the_analytic_field(rgb):
    """Mask A then B layers is chapter 2's PixelCNN: the designer's exact field is analytic_field's."""
    C = 3 if rgb else 1
    for k, n, size, target in [(3, 3, (9, 10), (6, 4)), (5, 2, (7, 7), (3, 6)), (3, 4, (5, 12), (4, 2))]:
        mask = causal_mask(k, "A", torch.arange(C), torch.arange(C))
        for c in range(C):
            reach, kinds, counts = design_field(mask, n, size, target, c)
            field = analytic_field("masked", target, size, n, k, channel=c, n_channels=C)
            assert torch.equal(reach.any(0), field), (k, n, c)  # G, B also read R (and G) of the target
            assert counts["blind"] == int(blind_spot(field, target).sum()) and counts["leaks"] == 0
            assert counts["past"] == int(past(target, size).sum()) * C + c


def test_designed_stack_is_exactly_causal_or_measurably_leaky():
    """Random weights, every input sub-pixel perturbed: no perturbation of a causal design moves a
    logit at or before it; a leaky design's target logits move when a leaked value changes."""
    torch.manual_seed(0)
    x = torch.randint(0, 2, (3, 4, 5))
    order = raster_index(3, 4, 5)
    causal = DesignedStack(causal_mask(3, "A", RGB, RGB), 3, hidden_channels=6)
    effects = perturbation_effects(causal, x)
    assert not any((effects[p] & (order <= p)).any() for p in range(effects.shape[0]))
    leaky = designed_mask(3, preset_taps("A", 3), preset_table("B"))  # each colour reads itself
    model = DesignedStack(leaky, 2, hidden_channels=6)
    effects = perturbation_effects(model, x)
    reach, kinds, _ = design_field(leaky, 2, (4, 5), (2, 3), channel=1)
    moved = effects[order, 1, 2, 3]  # [C, H, W]: did perturbing this input move output G at (2, 3)?
    assert (kinds == 5).any() and moved[kinds == 5].all(), "a leaked value that does not move the target"
    assert not (moved & ~reach).any(), "a value outside the reach moved the target"


def test_verdicts():
    w = MaskDesigner(kernel_size=3, preset="A", n_layers=3, image_size=(12, 12), target=(8, 6))
    assert w.verdict == "causal, blind spot of 3 pixels" and w.counts["blind"] == 3
    w.n_layers = 1
    assert w.verdict == "causal"
    w.toggle(1, 1)
    assert w.verdict == "leaks 1 future pixel: the model could cheat"
    w.apply_preset("full")
    assert w.verdict == f"leaks {w.counts['leaks']} future pixels: the model could cheat" and w.counts["leaks"] == 5
    w.set_mask(causal_mask(3, "B", RGB, RGB))
    w.channel = 1
    assert w.verdict == "leaks 1 future sub-pixel: the model could cheat"  # G reads its own value
    w.channel = 0
    w.set_channel_tap(0, 2)  # R reads B too: with one layer, R's own value and B reach R
    assert w.verdict == "leaks 2 future sub-pixels: the model could cheat"
    w.n_layers = 2           # and through B (which reads G) G as well
    assert w.verdict == "leaks 3 future sub-pixels: the model could cheat"
    w.all_as_designed = True
    w.n_layers = 3
    w.set_mask(causal_mask(3, "A", RGB, RGB))
    assert not w.counts["leaks"] and w.verdict.startswith("causal")


def test_check_mask_reports_for_the_exercise():
    r = check_mask(causal_mask(3, "A", torch.arange(1), torch.arange(1)), 4)
    assert isinstance(r, MaskReport) and r == (True, 0, 34, 6)
    big = analytic_field("masked", (10, 10), (21, 21), 4, 3)
    assert r.field == int(big.sum()) and r.blind_spot == int(blind_spot(big, (10, 10)).sum())
    assert check_mask(designed_mask(5, preset_taps("B", 5)), 4).n_leaks == 1  # the target itself
    assert check_mask(designed_mask(5, preset_taps("B", 5)), 4, all_as_designed=True).n_leaks == 1
    rgb_b = causal_mask(3, "B", RGB, RGB)
    assert [check_mask(rgb_b, 2, channel=c).n_leaks > 0 for c in range(3)] == [True] * 3
    assert [check_mask(causal_mask(3, "A", RGB, RGB), 2, channel=c).field for c in range(3)] == [11 * 3 + c for c in range(3)]


def test_no_square_mask_escapes_the_blind_spot():
    """The docstring's argument, checked on random causal masks: pixel (i-1, j+r+1) is never seen,
    and a mask reading anything up-right has a blind spot from two layers on."""
    rng = random.Random(1)
    for _ in range(40):
        k = rng.choice([3, 5, 7])
        r, c = k // 2, k * k // 2
        taps = [int(p < c and rng.random() < 0.6) for p in range(k * k)]  # causal: earlier taps only
        mask = designed_mask(k, taps)
        n = rng.randint(2, 4)
        reach, _, counts = design_field(mask, n, (2 * n * r + 1, 2 * n * r + r + 3), (n * r, n * r))
        assert not reach[0, n * r - 1, n * r + r + 1], (k, taps)
        up_right = any(taps[a * k + b] for a in range(r) for b in range(r + 1, k))
        if up_right:
            assert counts["blind"] > 0, (k, taps, n)
        else:
            assert not reach[0, :n * r, n * r + 1:].any()  # nothing right of the target, above it


def test_layer_masks_open_the_centre_as_type_b():
    a = causal_mask(3, "A", RGB, RGB)
    first, later = layer_masks(a, 2)
    assert torch.equal(first, a) and torch.equal(later, causal_mask(3, "B", RGB, RGB))
    assert all(torch.equal(m, a) for m in layer_masks(a, 3, all_as_designed=True))
