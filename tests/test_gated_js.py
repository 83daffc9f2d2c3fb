"""The browser's sampler (pixelcnn_lib/gated.js, run here under Node) computes the Python model's
function: the logits of every pixel agree to float32 rounding, its samples are valid images whose
log-likelihood Python recomputes, and the exported weights are the model's own."""
import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pixelcnn_lib import GatedPixelCNN
from pixelcnn_lib.browser_model import export, exported_tensors, read_export
from pixelcnn_lib.checkpoints import load_model, shipped_checkpoint

HERE = Path(__file__).resolve().parent
LIB = HERE.parent / "pixelcnn_lib"
NODE = shutil.which("node")
REQUIRED = os.environ.get("PIXELCNN_REQUIRE_BUILD") == "1"
pytestmark = [pytest.mark.skipif(NODE is None and not REQUIRED, reason="needs Node.js"),
              pytest.mark.usefixtures("torch_single_thread")]


def run_node(model, tasks):
    assert NODE, "needs Node.js (apt-get install nodejs)"
    spec, blob = export(model)
    payload = {"module": str(LIB / "gated.js"), "spec": spec,
               "weights": base64.b64encode(blob).decode(), "tasks": tasks}
    proc = subprocess.run([NODE, str(HERE / "gated_js_runner.mjs")], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def small_model(seed=0, **kw):
    torch.manual_seed(seed)
    model = GatedPixelCNN(1, 16, 6, 4, n_classes=3, causal_kernel_size=5, skip_channels=5,
                          head_channels=7, dilations=[1, 2, 3], **kw).eval()
    with torch.no_grad():  # label tables and biases far from zero, so a mix-up shows
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def python_logits(model, image, label):
    x = torch.as_tensor(image).long()[None, None]
    y = torch.tensor([label]) if model.n_classes else None
    with torch.no_grad():
        return model.double()(x, y)[0, :, 0].permute(1, 2, 0).reshape(-1, model.color_levels)


def check_logits(model, images, labels, H, W):
    js = run_node(model, [{"kind": "logits", "image": img.flatten().tolist(), "H": H, "W": W,
                           "label": lab} for img, lab in zip(images, labels)])
    twin = GatedPixelCNN(**model.config)
    twin.load_state_dict(model.state_dict())
    for img, lab, got in zip(images, labels, js):
        want = python_logits(twin, img, lab).numpy()
        got = np.asarray(got).reshape(want.shape)
        scale = np.abs(want).max()
        assert np.abs(got - want).max() <= 1e-4 * scale, (np.abs(got - want).max(), scale)


def test_logits_of_every_pixel_match_python_on_a_small_model():
    model = small_model()
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 16, (7, 9)) for _ in range(3)]
    check_logits(model, images, [0, 1, 2], 7, 9)


def test_a_change_at_pixel_p_moves_no_logit_at_or_before_p():
    """Causality of the JavaScript itself: perturb one pixel, compare the logits before and after."""
    model = small_model(1)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 16, (6, 6))
    for p in (0, 7, 20, 35):
        other = image.copy().reshape(-1)
        other[p] = (other[p] + 5) % 16
        a, b = run_node(model, [{"kind": "logits", "image": im.reshape(-1).tolist(), "H": 6, "W": 6,
                                 "label": 1} for im in (image, other)])
        a, b = np.asarray(a).reshape(36, 16), np.asarray(b).reshape(36, 16)
        assert np.array_equal(a[:p + 1], b[:p + 1])  # nothing at or before p moved
        if p < 35:
            assert not np.array_equal(a[p + 1:], b[p + 1:])  # and the change does reach later pixels


def test_samples_are_valid_images_whose_likelihood_python_recomputes():
    model = small_model(2)
    runs = run_node(model, [{"kind": "sample", "H": 5, "W": 6, "label": k, "temperature": 1.0,
                             "seed": k} for k in range(3)] + [
        {"kind": "sample", "H": 5, "W": 6, "label": 0, "temperature": 1.0, "seed": 0}])
    assert runs[0]["image"] == runs[3]["image"] and runs[0]["image"] != runs[1]["image"]  # seeded
    twin = GatedPixelCNN(**model.config)
    twin.load_state_dict(model.state_dict())
    for k, run in enumerate(runs[:3]):
        x = np.asarray(run["image"]).reshape(5, 6)
        assert x.min() >= 0 and x.max() < 16
        logp = -F.cross_entropy(python_logits(twin, x, k), torch.as_tensor(x).reshape(-1).long(),
                                reduction="sum").item()
        assert run["logLikelihood"] == pytest.approx(logp, rel=1e-5)


def test_completion_keeps_the_given_pixels():
    model = small_model(3)
    init = np.arange(30) % 16
    run, = run_node(model, [{"kind": "sample", "H": 5, "W": 6, "label": 2, "temperature": 1.0,
                             "seed": 4, "init": init.tolist(), "start": 14}])
    assert run["image"][:14] == init[:14].tolist()


def test_export_is_deterministic_and_holds_the_models_masked_weights():
    model = small_model(4)
    spec, blob = export(model)
    assert export(model) == (spec, blob)
    back = read_export(spec, blob)
    for name, array in exported_tensors(model).items():
        assert np.array_equal(back[name], array), name
    assert back["b0.h_conv.weight"][..., -1].max() == 0  # mask A: the causal block's own tap
    with pytest.raises(TypeError, match="greyscale"):
        export(GatedPixelCNN(3, 4, 6, 3))


@pytest.mark.skipif(shipped_checkpoint() is None, reason="no shipped model")
def test_the_shipped_model_agrees_with_python_on_real_digits():
    from pixelcnn_lib.data import load_dataset, subset
    model = load_model(shipped_checkpoint(), device="cpu").eval()
    spec, blob = export(model)
    assert len(blob) <= 1_000_000  # the asset the book's pages carry
    test = subset(load_dataset("mnist", "test", levels=256), 2)
    check_logits(model, [im[0].numpy() for im in test.images], test.labels.tolist(), 28, 28)
