"""The mask designer's browser computation (pixelcnn_lib/designer.js, run here under Node) is exactly
Python's: the field, the leaks, the blind spot and the verdict equal what `dependency_map` reads off
the DesignedStack built from the same mask, over a randomized sweep of masks, kernel sizes, colour
tables, layer counts, image sizes and targets."""
import json
import random
from pathlib import Path

import pytest
import torch

from pixelcnn_lib.designer import (PRESETS, MaskDesigner, design_field, designed_mask, designer_bundle,
                                   layer_masks, preset_table, preset_taps, resize_taps, verdict)
from test_widgets_js import NODE, REQUIRED, run_js

LIB = Path(__file__).resolve().parents[1] / "pixelcnn_lib"
DESIGNER = LIB / "designer.js"
pytestmark = [pytest.mark.skipif(NODE is None and not REQUIRED, reason="needs Node.js (apt-get install nodejs)"),
              pytest.mark.usefixtures("torch_single_thread")]


def js_settings(s):
    """MaskDesigner.settings() -> designer.js settings object."""
    return {"kernelSize": s["kernel_size"], "taps": s["taps"], "table": s["table"], "rgb": s["rgb"],
            "nLayers": s["n_layers"], "allAsDesigned": s["all_as_designed"], "imageSize": list(s["image_size"]),
            "target": list(s["target"]), "channel": s["channel"]}


def python_field(s):
    mask = designed_mask(s["kernel_size"], s["taps"], s["table"] if s["rgb"] else None)
    return design_field(mask, s["n_layers"], s["image_size"], s["target"], s["channel"], s["all_as_designed"])


def random_settings(rng):
    k = rng.choice([3, 5, 7])
    density = rng.choice([0.2, 0.5, 0.8])
    base = rng.choice(["random", "A", "B", "A-plus-one"])
    if base == "random":
        taps = [int(rng.random() < density) for _ in range(k * k)]
    else:
        taps = preset_taps(base[0], k)
        if base == "A-plus-one":  # one extra tap, often a future one
            p = rng.randrange(k * k)
            taps[p] = 1 - taps[p]
    rgb = rng.random() < 0.4
    table = rng.choice([preset_table("A"), preset_table("B"), [int(rng.random() < 0.5) for _ in range(9)]])
    H, W = rng.randint(1, 9), rng.randint(1, 9)
    return dict(kernel_size=k, taps=taps, table=table, rgb=rgb, n_layers=rng.randint(1, 5),
                all_as_designed=rng.random() < 0.3, image_size=(H, W),
                target=(rng.randrange(H), rng.randrange(W)), channel=rng.randrange(3) if rgb else 0)


def check(cases):
    results = run_js([["designerField", [js_settings(s)]] for s in cases], DESIGNER)
    for s, r in zip(cases, results):
        assert "ok" in r, (s, r)
        reach, kinds, counts = python_field(s)
        assert r["ok"]["reach"] == reach.int().flatten().tolist(), s
        assert r["ok"]["kinds"] == kinds.flatten().tolist(), s
        assert r["ok"]["counts"] == counts, s
        assert r["ok"]["verdict"] == verdict(counts, s["rgb"]), s
    return [python_field(s)[2] for s in cases]


def test_js_field_and_leaks_equal_dependency_map_random_sweep():
    rng = random.Random(16)
    counts = check([random_settings(rng) for _ in range(300)])
    # the sweep must hold every verdict: leaky, causal with and without a blind spot
    assert any(c["leaks"] for c in counts) and any(c["blind"] and not c["leaks"] for c in counts)
    assert any(not c["leaks"] and not c["blind"] and c["field"] for c in counts)


def test_js_field_on_presets_every_target():
    """Presets A, B, clear, full, every target of a small image (edges and corners), grey and RGB
    (every colour), both layer rules."""
    cases = [dict(kernel_size=k, taps=preset_taps(p, k), table=preset_table(p), rgb=rgb, n_layers=n,
                  all_as_designed=same, image_size=(3, 4), target=(i, j), channel=(i + j) % 3 if rgb else 0)
             for k in (3, 5) for p in PRESETS for rgb in (False, True) for n, same in ((1, False), (3, False), (2, True))
             for i in range(3) for j in range(4)]
    check(cases)


def test_js_masks_presets_and_resize_equal_python():
    rng = random.Random(3)
    cases = [random_settings(rng) for _ in range(40)]
    got = run_js([["designerMasks", [js_settings(s)]] for s in cases], DESIGNER)
    for s, r in zip(cases, got):
        mask = designed_mask(s["kernel_size"], s["taps"], s["table"] if s["rgb"] else None)
        assert r["ok"] == [m.int().tolist() for m in layer_masks(mask, s["n_layers"], s["all_as_designed"])], s
    calls, want = [], []
    for k in (3, 5, 7):
        for p in PRESETS:
            calls += [["presetTaps", [p, k]], ["presetTable", [p]]]
            want += [preset_taps(p, k), preset_table(p)]
            for k2 in (3, 5, 7):
                calls.append(["resizeTaps", [preset_taps(p, k), k, k2]])
                want.append(resize_taps(preset_taps(p, k), k, k2))
        for _ in range(5):
            taps, k2 = [rng.randint(0, 1) for _ in range(k * k)], rng.choice([3, 5, 7])
            calls.append(["resizeTaps", [taps, k, k2]])
            want.append(resize_taps(taps, k, k2))
    assert [r["ok"] for r in run_js(calls, DESIGNER)] == want


def test_js_rejects_bad_settings():
    s = js_settings(MaskDesigner(image_size=(3, 3), target=(1, 1)).settings())
    bad = [dict(s, target=[3, 0]), dict(s, channel=1), dict(s, rgb=True, channel=3)]
    assert all("error" in r for r in run_js([["designerField", [b]] for b in bad], DESIGNER))
    assert "error" in run_js([["presetTaps", ["A", 4]]], DESIGNER)[0]


def test_designer_settings_match_python(tmp_path):
    """The page reads the widget's synced state into the same settings Python computes with."""
    states = [MaskDesigner(), MaskDesigner(kernel_size=7, preset="B", rgb=True, n_layers=5, channel=2,
                                           all_as_designed=True, image_size=(6, 7), target=(3, 3))]
    shim = tmp_path / "shim.mjs"
    shim.write_text(f'import {{ designerSettings as f }} from {json.dumps(DESIGNER.as_uri())};\n'
                    "export const settings = (s) => f((k) => s[k]);\n")
    for w in states:
        state = {k: list(v) if isinstance(v, tuple) else v for k, v in w.get_state().items() if not k.startswith("_")}
        assert run_js([["settings", [state]]], shim)[0]["ok"] == js_settings(w.settings())


def test_designer_bundle_is_one_loadable_module(tmp_path):
    bundle = tmp_path / "designer.mjs"
    bundle.write_text(designer_bundle())
    probe = tmp_path / "probe.mjs"
    probe.write_text(f"import view, * as m from {json.dumps(bundle.as_uri())};\n"
                     "export const kinds = () => [typeof view.render, typeof m.designerField, typeof m.blindSpot];\n")
    assert run_js([["kinds", []]], probe)[0]["ok"] == ["function"] * 3
    assert '"./' not in designer_bundle()


def test_python_field_is_the_models_dependency_map():
    """design_field reads the DesignedStack it builds; the page's twin of that stack draws the same."""
    from pixelcnn_lib.designer import DesignedStack
    from pixelcnn_lib.receptive import dependency_map

    rng = random.Random(5)
    for _ in range(10):
        s = random_settings(rng)
        mask = designed_mask(s["kernel_size"], s["taps"], s["table"] if s["rgb"] else None)
        model = DesignedStack(mask, s["n_layers"], s["all_as_designed"], hidden_channels=rng.choice([3, 6, 9]))
        exact = dependency_map(model, (s["channel"], *s["target"]), s["image_size"])
        assert torch.equal(exact, python_field(s)[0]), s
