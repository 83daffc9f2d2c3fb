"""Choices are made on the validation split; the test split is for the final score only.

The recipe search (benchmarks/recipe_search.py) and the shipping tool's choice between raw and
averaged weights (tools/ship_model.py `choose_weights`) are run here with the dataset loader
replaced by one that records which splits were asked for: a search that read the test split
fails, whatever it did with it.
"""
import sys
from pathlib import Path

import pytest
import torch

from pixelcnn_lib.data import ImageData

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("torch_single_thread")


def recording_loader(asked):
    def load(name, split="train", levels=256, root=None, **kw):
        asked.append(split)
        g = torch.Generator().manual_seed({"train": 0, "val": 1, "test": 2}[split])
        n = 64 if split == "train" else 24
        return ImageData(torch.randint(0, levels, (n, 1, 6, 6), generator=g, dtype=torch.uint8),
                         torch.randint(0, 10, (n,), generator=g), levels, name, split)
    return load


def test_the_recipe_search_scores_on_validation_only(monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import recipe_search
    asked = []
    monkeypatch.setattr(recipe_search, "load_dataset", recording_loader(asked))
    rows = recipe_search.main(["--candidates", "h16L5", "--budget", "0.3", "--chunk", "0.1",
                               "--eval-images", "8", "--decays", "0.99"])
    assert rows and rows[0]["raw_bits_per_dim"] > 0
    assert "val" in asked and "test" not in asked, asked


def test_shipping_chooses_its_weights_on_validation(monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    import ship_model
    from pixelcnn_lib import GatedPixelCNN
    asked = []
    monkeypatch.setattr(ship_model, "load_dataset", recording_loader(asked))
    torch.manual_seed(0)
    raw, averaged = GatedPixelCNN(1, 256, 4, 2), GatedPixelCNN(1, 256, 4, 2)
    choice = ship_model.choose_weights(raw, averaged)
    assert choice["chosen"] in ("raw", "ema") and asked == ["val"]
    better = min(("raw", "ema"), key=lambda k: choice[f"val_{k}_bits_per_dim"])
    assert choice["chosen"] == better
