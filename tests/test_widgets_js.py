"""The browser's receptive fields and masks (pixelcnn_lib/field.js, run here under Node) are
exactly Python's (receptive.py, masks.py, and the exact maps of real models)."""
import itertools
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from pixelcnn_lib import GatedPixelCNN, PixelCNN
from pixelcnn_lib.masks import causal_mask, channel_groups
from pixelcnn_lib.receptive import analytic_field, dependency_map, structural_copy
from pixelcnn_lib.receptive import field_settings
from pixelcnn_lib.widgets import (ReceptiveFieldExplorer, TrainedFieldView, esm_bundle,
                                  summarise)

LIB = Path(__file__).resolve().parents[1] / "pixelcnn_lib"
NODE = shutil.which("node")
# CI (PIXELCNN_REQUIRE_BUILD=1) has Node through npm: there a missing Node fails, never skips.
REQUIRED = os.environ.get("PIXELCNN_REQUIRE_BUILD") == "1"
# Tiny float64 models: one thread is ~100x faster than several on a busy machine.
pytestmark = [pytest.mark.skipif(NODE is None and not REQUIRED, reason="needs Node.js (apt-get install nodejs)"),
              pytest.mark.usefixtures("torch_single_thread")]

# Reads {"module": path, "calls": [[function, args], ...]} on stdin, prints the results as JSON.
RUNNER = """
import { pathToFileURL } from "node:url";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const { module, calls } = JSON.parse(text);
const m = await import(pathToFileURL(module).href);
const plain = (v) => v instanceof Uint8Array ? Array.from(v)
  : v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  : v;
const out = await Promise.all(calls.map(async ([fn, args]) => {
  try { return { ok: plain(await m[fn](...args)) }; } catch (e) { return { error: String(e.message) }; }
}));
process.stdout.write(JSON.stringify(out));
"""


def run_js(calls, module=LIB / "field.js"):
    assert NODE, "needs Node.js (apt-get install nodejs)"
    proc = subprocess.run([NODE, "--input-type=module", "-e", RUNNER], input=json.dumps(
        {"module": str(module), "calls": calls}), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def js_settings(s):
    """analytic_field keyword arguments -> field.js settings object."""
    return {"arch": s["arch"], "target": list(s["target"]), "imageSize": list(s["image_size"]),
            "nLayers": s["n_layers"], "kernelSize": s.get("kernel_size", 3),
            "causalKernelSize": s.get("causal_kernel_size"), "dilations": s.get("dilations"),
            "channel": s.get("channel", 0), "nChannels": s.get("n_channels", 1)}


def check_fields(cases):
    """Assert field.js `classify` gives analytic_field, the kinds and the counts of each case."""
    results = run_js([["classify", [js_settings(s)]] for s in cases])
    for s, r in zip(cases, results):
        assert "ok" in r, (s, r)
        H, W = s["image_size"]
        field = analytic_field(**s)
        kinds, counts = summarise(s)
        assert r["ok"]["seen"] == field.int().flatten().tolist(), s
        assert r["ok"]["kinds"] == kinds.flatten().tolist(), s
        assert r["ok"]["counts"] == counts, s


SIZES = [(7, 9), (1, 6), (6, 1), (1, 1), (4, 4)]


@pytest.mark.parametrize("arch", ["masked", "two_stacks"])
def test_js_field_equals_analytic_field_for_every_target(arch):
    """Layers 1-6, kernels 1/3/5, every target of 1xN, Nx1 and small images (blind spots included)."""
    cases = [dict(arch=arch, target=(i, j), image_size=(H, W), n_layers=n, kernel_size=k)
             for n, k, (H, W) in itertools.product(range(1, 7), (1, 3, 5), SIZES)
             for i in range(H) for j in range(W)]
    check_fields(cases)
    # the masked stack's blind spot must be among the cases; the two stacks have none
    assert any(summarise(c)[1]["blind"] for c in cases) == (arch == "masked")


def test_js_field_equals_analytic_field_random_settings():
    """Causal kernel sizes, dilations, RGB channels, larger images: 500 random settings."""
    rng = random.Random(0)
    cases = []
    for _ in range(500):
        n, H, W = rng.randint(1, 6), rng.randint(1, 14), rng.randint(1, 14)
        nc = rng.choice([1, 3])
        cases.append(dict(arch=rng.choice(["masked", "two_stacks"]), target=(rng.randrange(H), rng.randrange(W)),
                          image_size=(H, W), n_layers=n, kernel_size=rng.choice([1, 3, 5]),
                          causal_kernel_size=rng.choice([None, 1, 3, 5, 7]),
                          dilations=rng.choice([None, [rng.randint(1, 3) for _ in range(n - 1)]]),
                          channel=rng.randrange(nc), n_channels=nc))
    check_fields(cases)


MODELS = {
    "pixelcnn-rgb-5x5": lambda: PixelCNN(3, 4, 6, 3, kernel_size=5),
    "gated-dilated": lambda: GatedPixelCNN(1, 4, 6, 4, causal_kernel_size=5, dilations=[1, 2, 3]),
    "gated-rgb": lambda: GatedPixelCNN(3, 4, 6, 3, causal_kernel_size=3),
    "gated-one-stack": lambda: GatedPixelCNN(1, 4, 6, 3, kernel_size=5, two_stacks=False),
}


@pytest.mark.parametrize("name", MODELS)
def test_js_field_equals_real_models_dependency_map(name):
    model, size = MODELS[name](), (5, 6)
    twin, calls, exact = structural_copy(model), [], []
    for c in range(model.in_channels):
        for i, j in itertools.product(range(size[0]), range(size[1])):
            s = dict(field_settings(model), target=(i, j), image_size=size, channel=c)
            calls.append(["analyticField", [js_settings(s)]])
            exact.append(dependency_map(model, (c, i, j), size, twin).any(0).int().flatten().tolist())
    for r, e, call in zip(run_js(calls), exact, calls):
        assert r.get("ok") == e, (name, call)


@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_js_mask_equals_causal_mask(k):
    groupings = [([0], [0]), ([0, 1, 2], [0, 1, 2]),
                 (channel_groups(6, 3).tolist(), channel_groups(9, 3).tolist()),
                 ([0, 1, 2], channel_groups(5, 3).tolist())]
    cases = [(t, gi, go) for t in "AB" for gi, go in groupings]
    results = run_js([["causalMask", [k, t, gi, go]] for t, gi, go in cases])
    for (t, gi, go), r in zip(cases, results):
        assert r["ok"] == causal_mask(k, t, torch.tensor(gi), torch.tensor(go)).int().tolist(), (k, t, gi, go)
    groups = run_js([["channelGroups", [n, g]] for n in range(3, 12) for g in (1, 3)])
    assert [r["ok"] for r in groups] == [channel_groups(n, g).tolist() for n in range(3, 12) for g in (1, 3)]


def test_js_rejects_what_python_rejects():
    bad = [["checkKernelSize", [4]], ["checkKernelSize", [0]], ["causalMask", [3, "C", [0], [0]]],
           ["analyticField", [{"arch": "gated", "target": [0, 0], "imageSize": [3, 3], "nLayers": 2}]],
           ["analyticField", [{"arch": "masked", "target": [3, 0], "imageSize": [3, 3], "nLayers": 2}]]]
    assert all("error" in r for r in run_js(bad))


def test_explorer_settings_match_python(tmp_path):
    """The widget maps its controls (arch "gated", dilation cycle) to the same analytic_field call."""
    states = [dict(arch="masked", n_layers=4, kernel_size=5), dict(arch="two_stacks", n_layers=3),
              dict(arch="gated", n_layers=6, causal_kernel_size=5, dilation_cycle=[1, 2, 4]),
              dict(arch="gated", n_layers=2, n_channels=3, channel=2, image_size=(1, 9), target=(0, 4))]
    calls, expected = [], []
    for st in states:
        w = ReceptiveFieldExplorer(**st)
        state = {k: list(v) if isinstance(v, tuple) else v for k, v in w.get_state().items()
                 if k in w.keys and not k.startswith("_") and k not in ("influence", "image")}
        calls.append(["explorerSettings", [state]])
        expected.append(js_settings(w.settings()))
    # explorerSettings takes a getter: wrap the state object in a tiny module.
    shim = tmp_path / "shim.mjs"
    shim.write_text(f'import {{ explorerSettings as f }} from {json.dumps((LIB / "widgets.js").as_uri())};\n'
                    "export const explorerSettings = (s) => f((k) => s[k]);\n")
    got = [r["ok"] for r in run_js(calls, shim)]
    for g, e in zip(got, expected):
        e["dilations"] = e["dilations"] or [1] * (e["nLayers"] - 1)
        e["causalKernelSize"] = e["causalKernelSize"] or e["kernelSize"]
        assert g == e


def test_esm_bundle_is_one_loadable_module(tmp_path):
    """What anywidget ships (field.js + dom.js + widgets.js, imports inlined) parses and exports the view."""
    bundle = tmp_path / "bundle.mjs"
    bundle.write_text(esm_bundle())
    shim = tmp_path / "probe.mjs"
    shim.write_text(f"import view, * as m from {json.dumps(bundle.as_uri())};\n"
                    f"export const kinds = () => [typeof view.render, typeof m.classify, typeof m.causalMask];\n")
    assert run_js([["kinds", []]], shim)[0]["ok"] == ["function"] * 3
    assert '"./' not in esm_bundle()


def test_js_trained_target_equals_python(tmp_path):
    """The trained view's page shows the map Python stored for each target: an extra target exactly,
    any other pixel snapped to the stride grid (widgets.js trainedTarget = TrainedFieldView.shown)."""
    torch.manual_seed(5)
    model, x = PixelCNN(1, 4, 6, 2), torch.randint(0, 4, (1, 7, 9))
    shim = tmp_path / "shown.mjs"
    shim.write_text(f'export {{ trainedTarget }} from {json.dumps((LIB / "widgets.js").as_uri())};\n')
    for stride, target in [(3, (5, 4)), (2, (3, 3)), (3, (6, 6)), (1, (2, 2))]:
        w = TrainedFieldView(model, x, stride=stride, target=target)
        picks = [(i, j) for i in range(7) for j in range(9)]
        got = run_js([["trainedTarget", [list(p), [7, 9], stride, [list(e) for e in w.extra_targets]]]
                      for p in picks], shim)
        for p, r in zip(picks, got):
            (i, j), n = w.shown(p)
            assert r["ok"] == {"target": [i, j], "index": n}, (stride, target, p)
        assert w.shown() == (tuple(target), w.shown(target)[1])


def test_js_inflates_what_python_deflates(tmp_path):
    """TrainedFieldView ships zlib.compress(codes); the page's `inflate` gives back the same bytes."""
    torch.manual_seed(3)
    w = TrainedFieldView(PixelCNN(1, 4, 6, 3), torch.randint(0, 4, (1, 5, 7)))
    shim = tmp_path / "inflate.mjs"
    shim.write_text(f'import {{ inflate }} from {json.dumps((LIB / "widgets.js").as_uri())};\n'
                    "export const run = async (list, enc) => inflate(Uint8Array.from(list), enc);\n")
    got = run_js([["run", [list(w.influence), "deflate"]], ["run", [[1, 2, 3], "raw"]],
                  ["run", [[1, 2, 3], "deflate"]]], shim)
    assert got[0]["ok"] == w.codes().flatten().tolist() and got[1]["ok"] == [1, 2, 3]
    assert "error" in got[2], "corrupt data must fail loudly, not draw garbage"
