"""Small helpers for the chapters themselves.

`glue` records a value in a cell's output so the book's prose can quote it with {glue:text}`name`
(the plain {glue:} role would show a string with its quotes; {glue:text} evaluates the stored repr,
so glue numbers as strings from `fmt`, which keeps trailing zeros and thousands separators):
the same output format as `myst_nb.glue`, written here so chapters also run where myst-nb
is not installed (Colab, a bare Jupyter).
"""
import IPython
from IPython.display import display

GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value, display_value: bool = False):
    """Store `value`'s displayed form under `name` for the book to paste into the text.

    Returns None, so that a glue() call ending a cell does not also print the value.
    """
    bundle, metadata = IPython.core.formatters.format_display_data(value)
    prefix = "" if display_value else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)


def fmt(x: float, digits: int = 3) -> str:
    """A number as prose shows it: fixed decimals, thousands separators for big ones."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.{digits}f}"


# --- Benchmark tables: the one rendering of book/data/bench_*.json, for chapter 7 and the README ---

def sampling_table(r: dict) -> str:
    """Markdown table and caption for benchmarks/sampling.py's JSON."""
    star = "*" if r["naive_scaled"] else ""
    m = r["model"]
    lines = ["| batch | naive, s per batch | cached, s per batch | speedup |", "|---:|---:|---:|---:|"]
    lines += [f"| {row['batch']} | {row['naive_s']:,.1f}{star} | {row['cached_s']:.2f} | {row['speedup']:.1f}x |"
              for row in r["rows"]]
    caption = (f"Sampling {r['image_size'][1]}x{r['image_size'][2]} digits, GatedPixelCNN {m['n_layers']} layers x "
               f"{m['hidden_channels']} channels, {m['color_levels']} levels, on {r['hardware']}, PyTorch {r['torch']}, "
               f"{r['date']} (`{r['command']}`).")
    if star:
        caption += (f" \\*{r['note']}: every naive step is the same full forward pass of the whole image, so its "
                    "time per pixel does not depend on the pixel.")
    return "\n".join(lines) + "\n\n" + caption


def training_table(r: dict) -> str:
    """Markdown table and caption for benchmarks/training.py's JSON."""
    m = r["model"]
    lines = ["| variant | images/s | vs reference | vs its base | GFLOP per image | GFLOP/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        base = "" if row["base"] is None else f"{row['speedup_vs_base']:.2f}x ({row['base']})"
        lines.append(f"| {row['variant']} | {row['images_per_s']:.3g} | {row['speedup_vs_reference']:.2f}x | {base} "
                     f"| {row['gflop_per_image']:.2f} | {row['gflop_per_s']:.0f} |")
    caption = (f"Training step (forward, cross-entropy, backward, AdamW; fp32), batch {r['batch']}, {m['n_layers']} "
               f"layers x {m['hidden_channels']} channels, {m['color_levels']} levels, on {r['hardware']}, PyTorch "
               f"{r['torch']}, {r['date']} (`{r['command']}`). Images/s: median of {r['repeats']} interleaved "
               f"repeats; speedups: median of the ratios within each repeat (paired). FLOPs: forward and backward "
               f"convolutions, counted by torch.utils.flop_counter; the reference does "
               f"{r['flop_ratio_reference_to_library']:.2f}x the library's.")
    return "\n".join(lines) + "\n\n" + caption


# --- The time-to-quality race (benchmarks/time_to_quality.py): its one rendering, for chapter 6
# and the README ---

def load_result(name: str):
    """A benchmark's JSON from book/data/ (run from the book folder or the repository root), or
    None where it is not there (a chapter opened alone, as on Colab)."""
    import json
    from pathlib import Path
    for folder in (Path("data"), Path("book") / "data"):
        if (folder / name).exists():
            return json.loads((folder / name).read_text())
    return None


def time_to_reach(curve, target):
    """First point of a recipe's own clock with bits/dim <= target (None: never)."""
    return next((p["train_s"] for p in curve if p["bits_per_dim"] <= target), None)


def reach_text(curve, target, budget_s):
    """When a curve first reached `target`, worded as what the evaluations measured: a crossing
    at the first evaluation is only bounded by it."""
    reach = time_to_reach(curve, target)
    if reach is None:
        return "never"
    if reach == curve[0]["train_s"]:
        return f"by {reach:,.0f} s, its first evaluation ({reach / budget_s:.2f} T)"
    before = max(p["train_s"] for p in curve if p["train_s"] < reach)
    return f"between {before:,.0f} and {reach:,.0f} s ({reach / budget_s:.2f} T)"


def time_to_quality_table(result: dict) -> str:
    """Markdown table and caption of benchmarks/time_to_quality.py's JSON."""
    target = result["summary"]["tutorial_bits_per_dim_at_budget"]
    full = any("full_test_bits_per_dim" in r for r in result["recipes"])
    lines = ["| recipe | parameters | steps x batch | images/s | bits/dim at T"
             + (" | all 10,000 at T" if full else "") + " | reaches the tutorial's at T |",
             "|---|---:|---:|---:|---:" + ("|---:" if full else "") + "|---:|"]
    for r in result["recipes"]:
        cells = [r["label"].split(" (")[0], f"{r['parameters']:,}",
                 f"{r['steps']:,} x {r['batch_size']}", f"{r['images_per_s']:.1f}",
                 f"{r['final_bits_per_dim']:.3f}"]
        if full:
            cells.append(f"{r['full_test_bits_per_dim']:.3f}" if "full_test_bits_per_dim" in r
                         else "")
        lines.append("| " + " | ".join(cells + [reach_text(r["curve"], target, result["budget_s"])])
                     + " |")
    lines.append(
        f"\nT = {result['budget_s']:,.0f} s of training per recipe (evaluation excluded), on "
        f"{result['hardware']}, PyTorch {result['torch']}, {result['date']} "
        f"(`{result['command']}`). Bits/dim on {result['eval']['n_images']:,} images of the MNIST "
        f"test split (256 levels), evaluated at fixed points of each recipe's clock (the first at "
        f"{min(r['curve'][0]['train_s'] for r in result['recipes']):,.0f} s), so a crossing time "
        "is known only to the evaluations around it. Parameters: live (masked taps not counted), "
        "the book's one convention.")
    return "\n".join(lines)
