"""Small helpers for the chapters themselves.

`glue` records a value in a cell's output so the book's prose can quote it with {glue:text}`name`
(the plain {glue:} role would show a string with its quotes; {glue:text} evaluates the stored repr,
so glue numbers as strings from `fmt`, which keeps trailing zeros and thousands separators):
the same output format as `myst_nb.glue`, written here so chapters also run where myst-nb
is not installed (Colab, a bare Jupyter).

Every chapter imports this module, so importing it also makes the chapter's figures carry their
smallest font size (pixelcnn_lib.plotting.stamp_figure_fonts), which the book's browser test reads.
"""
import IPython
from IPython.display import display

from . import plotting  # noqa: F401  (importing it stamps every figure's smallest font, see there)

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
