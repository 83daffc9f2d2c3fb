"""The model shipped with the library (chapter 6's, pixelcnn_lib/weights/ch6_mnist.pt) is what it says.

It loads with one call, its weights fit the model its checkpoint records, and it reproduces the
test bits/dim recorded when it was shipped (tools/ship_model.py) on the same fixed subset.
"""
import os
from pathlib import Path

import pytest

from pixelcnn_lib.checkpoints import load_checkpoint, load_model, shipped_checkpoint
from pixelcnn_lib.data import load_dataset, subset
from pixelcnn_lib.models import count_parameters
from pixelcnn_lib.evaluation import evaluate

SHIPPED = shipped_checkpoint("ch6_mnist.pt")


def test_the_model_is_shipped():
    assert SHIPPED is not None, "pixelcnn_lib/weights/ch6_mnist.pt is missing: tools/ship_model.py writes it"


needs_shipped = pytest.mark.skipif(SHIPPED is None, reason="see test_the_model_is_shipped")


@needs_shipped
def test_shipped_model_is_small_and_loads_with_one_call():
    assert SHIPPED.stat().st_size <= 2_000_000
    model = load_model(SHIPPED, device="cpu")
    choice = load_checkpoint(SHIPPED)["shipped_weights"]
    assert model.checkpoint_weights == choice["chosen"] and not model.training
    # the weights shipped are the better ones on validation (the test split chose nothing)
    assert choice["split"] == "val" and choice["chosen"] == min(
        ("raw", "ema"), key=lambda k: choice[f"val_{k}_bits_per_dim"])


@needs_shipped
def test_shipped_model_matches_its_recorded_config():
    state = load_checkpoint(SHIPPED)
    model = load_model(SHIPPED, device="cpu")
    assert model.config == state["model_config"]
    assert count_parameters(model) == state["history"]["n_parameters"]
    settings = state["run_settings"]
    config = state["model_config"]
    assert (config["hidden_channels"], config["n_layers"], config["dilations"]) == (
        settings["hidden_channels"], settings["layers"], settings["dilations"])
    assert config["n_classes"] == (10 if settings["classes"] else None)
    assert state["history"]["steps"] == settings["max_steps"] or state["history"]["stopped"]


@needs_shipped
def test_shipped_model_reproduces_its_recorded_test_bits_per_dim():
    if not (Path(os.environ.get("PIXELCNN_DATA", "")) / "MNIST" / "raw").is_dir():
        pytest.skip("PIXELCNN_DATA does not hold MNIST (CI sets it)")
    state = load_checkpoint(SHIPPED)
    check = state["shipped_check"]
    model = load_model(SHIPPED, device="cpu")
    test = subset(load_dataset("mnist", check["split"], levels=model.color_levels), check["first_images"])
    got = evaluate(model, test)["bits_per_dim"]
    assert abs(got - check["bits_per_dim"]) < 1e-4, (got, check["bits_per_dim"])
