"""The benchmark's reference model is a fair baseline: causal, and the same live weights as the library's.

(No timings here: speed is measured by benchmarks/*.py, never asserted in unit tests.)
"""
import sys
from pathlib import Path

import torch

from causality import assert_causal
from pixelcnn_lib import GatedPixelCNN, count_parameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from reference import ReferenceGatedPixelCNN  # noqa: E402


def test_reference_is_causal():
    torch.manual_seed(0)
    model = ReferenceGatedPixelCNN(color_levels=4, hidden_channels=6, n_layers=3, n_classes=3)
    x = torch.randint(0, 4, (1, 6, 7))
    effects = assert_causal(model, x, torch.tensor([2]))
    assert effects.any()  # it does read the past


def test_reference_has_the_library_models_live_weights():
    """Masked-out taps aside, reference and library models have exactly the same parameters."""
    for hidden, layers in [(8, 3), (64, 15)]:
        ref = ReferenceGatedPixelCNN(256, hidden, layers, n_classes=10)
        lib = GatedPixelCNN(1, 256, hidden_channels=hidden, n_layers=layers, n_classes=10)
        assert count_parameters(ref) == count_parameters(lib)


def test_reference_output_layout_matches_the_library():
    ref = ReferenceGatedPixelCNN(5, 4, 2, n_classes=2)
    x = torch.randint(0, 5, (3, 1, 6, 6))
    out = ref(x, torch.tensor([0, 1, 0]))
    assert out.shape == GatedPixelCNN(1, 5, 4, 2, n_classes=2)(x, torch.tensor([0, 1, 0])).shape
    torch.nn.functional.cross_entropy(out, x)  # the loss the benchmark uses accepts it
