"""Naive autoregressive sampling: reproducible, completes partial images, respects labels.

Also the layout of the sampling modules: a front door (`sampling.sample`) above two samplers
that share only `sampling_common`, with no import cycle.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pixelcnn_lib import GatedPixelCNN, PixelCNN, sample


@pytest.fixture
def conditional():
    torch.manual_seed(0)
    return GatedPixelCNN(3, 5, 6, 3, n_classes=3)


def test_same_seed_same_samples_other_seed_other_samples(conditional):
    a = sample(conditional, 3, (3, 4, 5), y=1, generator=7)
    b = sample(conditional, 3, (3, 4, 5), y=1, generator=7)
    c = sample(conditional, 3, (3, 4, 5), y=1, generator=8)
    assert a.shape == (3, 3, 4, 5) and a.dtype == torch.long
    assert 0 <= int(a.min()) and int(a.max()) < 5
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("method", ["naive", "cached"])
def test_without_a_generator_the_global_seed_decides(conditional, method):
    """generator=None draws from PyTorch's global generator: torch.manual_seed fixes the images."""
    draws = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        draws.append(sample(conditional, 3, (3, 4, 5), y=1, method=method))
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])
    torch.manual_seed(1)
    before = torch.get_rng_state()
    sample(conditional, 1, (3, 2, 2), y=0, method=method)
    assert not torch.equal(torch.get_rng_state(), before)  # it really consumed the global stream


def test_an_int_seed_ignores_and_keeps_the_global_state(conditional):
    torch.manual_seed(1)
    before = torch.get_rng_state()
    a = sample(conditional, 2, (3, 3, 3), y=1, generator=7)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(2)
    assert torch.equal(a, sample(conditional, 2, (3, 3, 3), y=1, generator=7))


def test_completion_keeps_the_given_pixels():
    model = PixelCNN(1, 256, 8, 2)
    init = torch.randint(0, 256, (1, 6, 6))
    keep = torch.zeros(6, 6, dtype=torch.bool)
    keep[:3] = True  # the top half is given
    out = sample(model, 4, (1, 6, 6), init=init, keep=keep, generator=0)
    assert torch.equal(out[:, :, :3], init[None, :, :3].expand(4, 1, 3, 6))
    assert not torch.equal(out[:, :, 3:], init[None, :, 3:].expand(4, 1, 3, 6))


def test_completion_of_a_fully_given_image_returns_it_without_calling_the_model():
    model = PixelCNN(1, 4, 4, 2)
    init = torch.randint(0, 4, (2, 1, 3, 3))
    model.forward = None  # any call would fail
    assert torch.equal(sample(model, 2, (1, 3, 3), init=init, generator=0), init)


def test_labels_reach_the_model_row_by_row(conditional):
    """Every forward pass gets the caller's labels, and each row depends only on its own label
    (near-zero temperature makes a row a deterministic function of its logits)."""
    seen = []
    forward = conditional.forward
    conditional.forward = lambda x, y=None, **kw: (seen.append(y.clone()), forward(x, y, **kw))[1]
    cold = dict(temperature=1e-4, generator=0, method="naive")  # its forward passes
    ab = sample(conditional, 2, (3, 3, 3), y=torch.tensor([0, 2]), **cold)
    assert seen and all(torch.equal(y, torch.tensor([0, 2])) for y in seen)
    bb = sample(conditional, 2, (3, 3, 3), y=torch.tensor([2, 2]), **cold)
    aa = sample(conditional, 2, (3, 3, 3), y=torch.tensor([0, 0]), **cold)
    assert torch.equal(ab[1], bb[1]) and torch.equal(ab[0], aa[0])
    assert torch.equal(sample(conditional, 2, (3, 2, 2), y=1, **cold)[0],
                       sample(conditional, 1, (3, 2, 2), y=torch.tensor([1]), **cold)[0])


def test_sampling_restores_training_mode(conditional):
    conditional.train()
    sample(conditional, 1, (3, 2, 2), y=0, generator=0)
    assert conditional.training


@pytest.mark.parametrize("kwargs,words", [
    (dict(image_shape=(1, 4, 4), y=0), "channels"),
    (dict(image_shape=(3, 4, 4)), "class-conditional"),
    (dict(image_shape=(3, 4, 4), y=0, temperature=0), "temperature"),
    (dict(image_shape=(3, 4, 4), y=5), "labels must lie"),
    (dict(image_shape=(3, 4, 4), y=0, keep=torch.ones(4, 4, dtype=torch.bool)), "init"),
    (dict(image_shape=(3, 4, 4), y=0, method="fast"), "method"),
])
def test_bad_sampling_arguments_are_explained(conditional, kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        sample(conditional, 2, **kwargs)


# ----------------------------------------------------------------------------- module layout

LIB = Path(__file__).resolve().parents[1] / "pixelcnn_lib"
SAMPLERS = ("naive_sampling", "fast_sampling")


def imported_modules(name):
    """Names a library module imports, relative imports as 'pixelcnn_lib.<name>'."""
    tree = ast.parse((LIB / f"{name}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ("pixelcnn_lib." if node.level else "") + (node.module or "")
            found.add(base.rstrip("."))
            found |= {f"{base}.{a.name}".replace("..", ".") for a in node.names}
    return found


@pytest.mark.parametrize("name", SAMPLERS + ("sampling_common",))
def test_no_sampler_imports_the_front_door_or_the_other_sampler(name):
    imports = imported_modules(name)
    others = {f"pixelcnn_lib.{m}" for m in ("sampling",) + SAMPLERS if m != name}
    assert not imports & others, f"{name} imports {sorted(imports & others)}"
    assert "pixelcnn_lib" not in imports  # not the package either (it imports the front door)


def test_the_static_check_sees_the_front_doors_imports():
    assert {"pixelcnn_lib.naive_sampling", "pixelcnn_lib.fast_sampling"} <= imported_modules("sampling")


@pytest.mark.parametrize("name", ("sampling",) + SAMPLERS + ("sampling_common",))
def test_each_sampling_module_imports_alone_in_a_fresh_interpreter(name):
    """With the package's __init__ bypassed, so this module is the first of the sampling
    modules to load and a cycle would surface (the package import itself is in every test)."""
    code = (
        "import importlib, sys, types\n"
        f"pkg = types.ModuleType('pixelcnn_lib'); pkg.__path__ = [{str(LIB)!r}]\n"
        "sys.modules['pixelcnn_lib'] = pkg\n"
        f"m = importlib.import_module('pixelcnn_lib.{name}')\n"
        "assert 'pixelcnn_lib.sampling' not in sys.modules or m.__name__ == 'pixelcnn_lib.sampling'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_the_default_method_is_the_cached_sampler_where_it_applies(conditional, monkeypatch):
    """sample() without `method` takes the cached sampler for the models it knows, and the naive
    one for any other model (the fully visible model of chapter 1)."""
    import pixelcnn_lib.sampling as front
    from pixelcnn_lib import FullyVisibleModel
    used = []
    for name, real in list(front.SAMPLERS.items()):
        monkeypatch.setitem(front.SAMPLERS, name,
                            lambda *a, _name=name, _real=real, **k: used.append(_name) or _real(*a, **k))
    sample(conditional, 2, (3, 4, 5), y=1, generator=0)
    sample(FullyVisibleModel(1, 2, (2, 2)), 1, (1, 2, 2), generator=0)
    sample(conditional, 1, (3, 4, 5), y=1, generator=0, method="naive")
    assert used == ["cached", "naive", "naive"]
