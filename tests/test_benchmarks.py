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


def test_readme_benchmark_tables_match_the_json():
    """README's tables are rendered from book/data/bench_*.json, never copied by hand."""
    from report import README, readme_blocks, render_readme

    text = README.read_text()
    blocks = readme_blocks()
    assert set(blocks) == {"sampling", "training"}
    assert render_readme(text, blocks) == text, "README's benchmark tables are stale: run python benchmarks/report.py"


def test_render_readme_replaces_only_the_marked_block():
    from report import marker, render_readme

    text = f"before\n{marker('training')}\nold table\n{marker('training', end=True)}\nafter\n"
    out = render_readme(text, {"training": "new table"})
    assert out == f"before\n{marker('training')}\nnew table\n{marker('training', end=True)}\nafter\n"


def test_benchmark_scripts_run_and_record_what_the_book_reads(tmp_path):
    """Both scripts run end to end (tiny sizes) and write the fields chapter 7 and the README use."""
    import json

    import sampling
    import training
    from pixelcnn_lib.book import sampling_table, training_table

    t = training.main(["--quick", "--threads", "1", "--out", str(tmp_path / "t.json")])
    assert json.loads((tmp_path / "t.json").read_text())["rows"] == json.loads(json.dumps(t["rows"]))
    rows = {r["variant"]: r for r in t["rows"]}
    assert set(rows) == {"reference", "library", "library+CL"}
    # The library skips the reference's dead taps: strictly fewer FLOPs, the same with channels_last.
    assert t["flop_ratio_reference_to_library"] > 1.1
    assert rows["library"]["gflop_per_image"] == rows["library+CL"]["gflop_per_image"]
    assert all(r["images_per_s"] > 0 and r["gflop_per_s"] > 0 for r in t["rows"])
    assert "| library |" in training_table(t)

    s = sampling.main(["--quick", "--out", str(tmp_path / "s.json")])
    assert all(r["first_pixels_differing"] == 0 for r in s["rows"])  # cached draws the naive sampler's pixels
    assert "| batch |" in sampling_table(s)
