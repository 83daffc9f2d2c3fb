"""What every benchmark records beside its numbers, and how it saves them (JSON the book glues)."""
import datetime as dt
import json
import sys
from pathlib import Path

import torch

from pixelcnn_lib.book import sampling_table, time_to_quality_table, training_table
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


# --- README tables: rendered from the JSON by the chapter's own helpers, never copied by hand ---

DATA = Path(__file__).resolve().parents[1] / "book" / "data"
README = Path(__file__).resolve().parents[1] / "README.md"

TABLES = {"sampling": ("bench_sampling.json", sampling_table),
          "training": ("bench_training.json", training_table),
          "time_to_quality": ("time_to_quality.json", time_to_quality_table)}


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
