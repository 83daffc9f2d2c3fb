"""What every benchmark records beside its numbers, and how it saves them (JSON the book glues)."""
import datetime as dt
import json
import sys
from pathlib import Path

import torch

from pixelcnn_lib.training import device_name


def provenance(device, script, argv=None) -> dict:
    """Hardware, PyTorch, threads, time and the exact command, so a number can be traced and rerun."""
    args = sys.argv[1:] if argv is None else argv
    return dict(hardware=device_name(device), device=device.type, torch=torch.__version__,
                threads=torch.get_num_threads(),
                date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                command=" ".join(["python", f"benchmarks/{Path(script).name}", *args]))


def write_json(result: dict, out) -> None:
    """Write `result` to `out` (nothing when out is None), creating its folder."""
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")


# --- README tables: rendered from the JSON, so the README never holds a hand-copied number ---

DATA = Path(__file__).resolve().parents[1] / "book" / "data"
README = Path(__file__).resolve().parents[1] / "README.md"


def sampling_markdown(r: dict) -> str:
    star = "*" if r.get("naive_scaled") else ""
    lines = [f"Sampling {r['image_size'][1]}x{r['image_size'][2]} digits on {r['hardware']}, PyTorch {r['torch']}, "
             f"{r['date']} (`{r.get('command', 'python benchmarks/sampling.py')}`):", "",
             "| batch | naive, s per batch | cached, s per batch | speedup |", "|---:|---:|---:|---:|"]
    lines += [f"| {row['batch']} | {row['naive_s']:,.0f}{star} | {row['cached_s']:.1f} | {row['speedup']:.1f}x |"
              for row in r["rows"]]
    if star:
        lines += ["", f"\\* {r['note']}: every naive step is the same full forward pass of the whole image, so "
                      "its time per pixel does not depend on the pixel."]
    return "\n".join(lines)


def training_markdown(r: dict) -> str:
    lines = [f"Training step (forward, cross-entropy, backward, AdamW; fp32, batch {r['batch']}) on {r['hardware']}, "
             f"PyTorch {r['torch']}, {r['date']}, median of {r['repeats']} interleaved repeats "
             f"(`{r['command']}`):", "",
             "| variant | images/s (median) | vs reference | vs its base | GFLOP per image | GFLOP/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in r["rows"]:
        base = "" if row["base"] is None else f"{row['speedup_vs_base']:.2f}x ({row['base']})"
        lines.append(f"| {row['variant']} | {row['images_per_s']:.3g} | {row['speedup_vs_reference']:.2f}x | {base} "
                     f"| {row['gflop_per_image']:.2f} | {row['gflop_per_s']:.0f} |")
    lines += ["", "Speedups are medians of the ratios measured within each repeat (paired)."]
    lines += ["", f"The reference does {r['flop_ratio_reference_to_library']:.2f}x the library's FLOPs per image "
                  "(forward and backward convolutions, counted by `torch.utils.flop_counter`)."]
    return "\n".join(lines)


TABLES = {"sampling": ("bench_sampling.json", sampling_markdown),
          "training": ("bench_training.json", training_markdown)}


def readme_blocks(data_dir=DATA) -> dict:
    """{name: markdown} for every benchmark JSON present."""
    out = {}
    for name, (file, render) in TABLES.items():
        if (data_dir / file).exists():
            out[name] = render(json.loads((data_dir / file).read_text()))
    return out


def marker(name, end=False):
    return f"<!-- bench:{name} {'end' if end else 'begin'} (python benchmarks/report.py) -->"


def render_readme(text: str, blocks: dict) -> str:
    """`text` with each marked block replaced by its rendered table."""
    for name, body in blocks.items():
        begin, end = marker(name), marker(name, end=True)
        if begin not in text or end not in text:
            raise ValueError(f"README.md lacks the markers for the {name} table: {begin} ... {end}")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{body}\n{end}{tail}"
    return text


if __name__ == "__main__":
    README.write_text(render_readme(README.read_text(), readme_blocks()))
    print(f"rewrote the benchmark tables in {README}")
