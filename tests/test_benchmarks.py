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
    assert set(blocks) == {"sampling", "training", "time_to_quality"}
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


# --- time to quality (issue 15): the tutorial's model, the recipes, the race ---

def test_tutorial_model_is_causal_and_has_no_blind_spot():
    from recipes import TutorialPixelCNN

    torch.manual_seed(0)
    model = TutorialPixelCNN(color_levels=5, hidden_channels=4, dilations=(1, 2, 1, 3))
    for p in model.parameters():  # non-zero biases: padded borders must stay causal too
        torch.nn.init.normal_(p, std=0.5)
    H, W = 6, 7
    effects = assert_causal(model, torch.randint(0, 5, (1, H, W)))
    last = (H - 1) * W + (W - 1)
    up_right = (H - 2) * W + (W - 1)  # the region a single masked stack never sees
    assert effects[up_right, 0, H - 1, W - 2]  # pixel above-right of (H-1, W-2) is read
    assert effects[:last, 0, H - 1, W - 1].all()  # the last pixel sees every earlier pixel


def test_tutorial_model_has_the_published_parameter_count():
    from recipes import TutorialPixelCNN, stored_parameters

    model = TutorialPixelCNN()  # 64 channels, 7 gated layers, 256 levels
    assert stored_parameters(model) == 852_160  # the tutorial's published number
    assert count_parameters(model) < stored_parameters(model)  # masked taps are not live


def test_recipe_schedules():
    from recipes import all_recipes, warmup_cosine

    tutorial, original, library = all_recipes()
    assert tutorial.lr(0, 0.0, 10) == 1e-3 and tutorial.lr(9, 0.5, 10) == 1e-3
    assert abs(tutorial.lr(25, 0.9, 10) - 1e-3 * 0.99 ** 2) < 1e-15  # x0.99 per finished epoch
    assert original.lr(0, 0.0, 10) == original.lr(10_000, 0.99, 10) == 1e-4
    lr = warmup_cosine(1e-2, warmup_fraction=0.2)
    assert lr(0, 0.0, 1) == 1e-4 and abs(lr(5, 0.1, 1) - 5e-3) < 1e-12  # linear warmup, in budget
    assert lr(9, 0.2, 1) == 1e-2 and abs(lr(20, 0.6, 1) - 5e-3) < 1e-12  # then cosine ...
    assert lr(30, 1.0, 1) < 1e-12 and lr(31, 1.3, 1) < 1e-12  # ... reaching 0 at the budget
    assert (tutorial.batch_size, original.batch_size) == (128, 32)
    assert library.clip_grad == 1.0 and library.batch_size == 8


def test_time_to_reach():
    from pixelcnn_lib.book import time_to_reach

    curve = [dict(train_s=s, bits_per_dim=b) for s, b in [(10, 3.0), (20, 1.5), (30, 1.6), (40, 1.2)]]
    assert time_to_reach(curve, 1.5) == 20 and time_to_reach(curve, 1.3) == 40
    assert time_to_reach(curve, 1.0) is None


def test_time_to_quality_quick_run_records_every_recipe(tmp_path, mnist_root):
    """--quick races all three recipes (tiny models) and writes the JSON and the plot."""
    import json

    import time_to_quality

    out = tmp_path / "ttq.json"
    result = time_to_quality.main(["--quick", "--threads", "1", "--no-progress",
                                   "--data", str(mnist_root), "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["summary"] == json.loads(json.dumps(result["summary"]))
    assert (tmp_path / "ttq.png").stat().st_size > 1000
    for key in ("hardware", "torch", "threads", "command", "date", "budget_s", "chunk_s"):
        assert key in saved, key
    assert saved["threads"] == 1 and saved["eval"]["n_images"] == 64
    rows = {r["name"]: r for r in saved["recipes"]}
    assert set(rows) == {"tutorial", "original", "library"}
    budget = saved["budget_s"]
    for r in rows.values():
        times = [p["train_s"] for p in r["curve"]]
        # one evaluation per fixed point passed (a slow step may pass several at once)
        assert 1 <= len(times) <= len(saved["eval"]["fractions_of_budget"])
        assert times == sorted(times) and times[-1] >= budget  # each trained its full budget
        assert r["steps"] > 0 and r["images_seen"] >= r["steps"]
        assert all(0 < p["bits_per_dim"] < 8.5 for p in r["curve"])  # log2(256) = 8 at init
        assert r["final_bits_per_dim"] == r["curve"][-1]["bits_per_dim"]
    s = saved["summary"]
    assert s["tutorial_bits_per_dim_at_budget"] == rows["tutorial"]["final_bits_per_dim"]
    reach = s["library_time_to_tutorial_final_s"]
    assert s["target_met"] == (reach is not None and reach <= budget / 2)


def test_a_contender_with_an_ema_is_evaluated_on_the_average(mnist_root):
    """Recipes with ema_decay train an EMA beside the weights and are judged by the average."""
    import time_to_quality
    from pixelcnn_lib.data import load_dataset, subset
    from pixelcnn_lib.training import evaluate
    from recipes import LIBRARY, library

    data = subset(load_dataset("mnist", "test", levels=256, root=mnist_root, download=False), 16)
    recipe = library(quick=True, settings=dict(LIBRARY, ema_decay=0.9, batch_size=4))
    c = time_to_quality.Contender(recipe, data.images, torch.device("cpu"), budget_s=1.0)
    for _ in range(3):
        c.train_step()
    assert c.ema.n_updates == 3
    raw = evaluate(c.model, data)["bits_per_dim"]
    with c.ema.applied(c.model):
        averaged = evaluate(c.model, data)["bits_per_dim"]
    assert c.evaluate(data) == averaged != raw
    assert evaluate(c.model, data)["bits_per_dim"] == raw  # the raw weights are back afterwards
