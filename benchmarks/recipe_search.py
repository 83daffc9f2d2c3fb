"""How the library's CPU recipe was chosen: short races of candidate recipes on equal CPU time.

    python benchmarks/recipe_search.py --candidates h16L5 h32L8 --budget 60
    python benchmarks/recipe_search.py --list

Each candidate is the library recipe (benchmarks/recipes.py, LIBRARY) with some settings changed.
They train interleaved in one process on ONE thread, each for `--budget` seconds of its own
PROCESS CPU time (time.process_time), so that a machine shared with other work, which stretches
wall time, changes little; its cosine schedule ends at its own budget. At the end every
candidate is evaluated on a fixed random subset of the MNIST VALIDATION split (the last 5,000
official training images, 256 levels) with its raw weights and with EMAs of several decays, kept
side by side during training. A search chooses: it never reads the test split, which is scored
once per final model (tests/test_selection.py checks this).

These are short explorations: results after a minute or two of training rank recipes for a
budget of that size, and extrapolating them to a 25-minute run is a judgement, not a
measurement. The results behind the library recipe, with the reasoning, are in
book/data/time_to_quality_search.json (from the JSON lines that --out appends).
"""
import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pixelcnn_lib.data import load_dataset  # noqa: E402
from pixelcnn_lib.ema import EMA  # noqa: E402
from pixelcnn_lib.models import count_parameters  # noqa: E402
from pixelcnn_lib.training import evaluate  # noqa: E402
from recipes import LIBRARY, library  # noqa: E402
from time_to_quality import Contender, race  # noqa: E402


def cycle(n, pattern=(1, 2, 1, 4)):
    return [pattern[k % len(pattern)] for k in range(n)]


def arch(h, layers, dilations=None, skip=None, head=None, causal=7):
    return dict(hidden_channels=h, n_layers=layers, causal_kernel_size=causal, kernel_size=3,
                skip_channels=skip or h, head_channels=head or skip or h,
                dilations=dilations or cycle(layers - 1))


# name -> changes to LIBRARY ("model" replaces the whole architecture)
CANDIDATES = {
    "h16L5": dict(model=arch(16, 5)),
    "h24L6": dict(model=arch(24, 6)),
    "h32L8": dict(model=arch(32, 8)),
    "h48L6": dict(model=arch(48, 6)),
    "h64L5": dict(model=arch(64, 5)),
    "h32L6": dict(model=arch(32, 6)),
    "h32L6d1248": dict(model=arch(32, 6, [1, 2, 4, 8, 1])),
    "h32L8d1248": dict(model=arch(32, 8, [1, 2, 4, 8, 1, 2, 4])),
    "h32L8s16": dict(model=arch(32, 8, skip=16)),
    "h32L8s64": dict(model=arch(32, 8, skip=64)),
    "h24L10": dict(model=arch(24, 10)),
    "h48L8": dict(model=arch(48, 8)),
    "h64L8": dict(model=arch(64, 8)),
    "h48L10": dict(model=arch(48, 10)),
    "b8": dict(batch_size=8),
    "b16": dict(batch_size=16),
    "b64": dict(batch_size=64),
    "lr2e-3": dict(lr=2e-3),
    "lr3e-3": dict(lr=3e-3),
    "lr1e-2": dict(lr=1e-2),
    "b16lr3e-3": dict(batch_size=16, lr=3e-3),
    "b16lr1e-2": dict(batch_size=16, lr=1e-2),
    "wd1e-2": dict(weight_decay=1e-2),
}


def settings_for(name, base=None):
    """LIBRARY with candidate `name`'s changes; names joined with '+' combine ('h24L6+b16')."""
    s = copy.deepcopy(base or LIBRARY)
    for part in name.split("+"):
        if part not in CANDIDATES:
            raise SystemExit(f"unknown candidate {part!r}; --list shows them")
        s.update(copy.deepcopy(CANDIDATES[part]))
    return s


class SearchContender(Contender):
    """A contender that also keeps EMAs of several decays, to compare them on one run."""

    def __init__(self, *args, decays=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.emas = {d: EMA(self.model, d) for d in decays}

    def train_step(self):
        loss = super().train_step()
        for ema in self.emas.values():
            ema.update(self.model)
        return loss


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidates", nargs="+", default=["h16L5", "h32L8"])
    p.add_argument("--budget", type=float, default=60.0, help="CPU seconds per candidate")
    p.add_argument("--chunk", type=float, default=2.0)
    p.add_argument("--eval-images", type=int, default=500, help="validation images scored")
    p.add_argument("--decays", type=float, nargs="*", default=[0.99, 0.995, 0.999])
    p.add_argument("--data", default=None)
    p.add_argument("--out", default=None, help="append the results as one JSON line to this file")
    p.add_argument("--list", action="store_true")
    args = p.parse_args(argv)
    if args.list:
        for name, change in CANDIDATES.items():
            print(f"{name:14s} {change}")
        return None
    torch.set_num_threads(1)
    device = torch.device("cpu")
    train_data = load_dataset("mnist", "train", levels=256, root=args.data)
    val_data = load_dataset("mnist", "val", levels=256, root=args.data)
    pick = torch.randperm(len(val_data), generator=torch.Generator().manual_seed(1234))
    idx = pick[:args.eval_images].sort().values
    eval_data = type(val_data)(val_data.images[idx], val_data.labels[idx], 256, "mnist", "val")

    contenders = []
    for name in args.candidates:
        s = settings_for(name)
        s["ema_decay"] = None  # the EMAs are kept by SearchContender, all decays alike
        c = SearchContender(library(settings=s), train_data.images, device, args.budget,
                            timer=time.process_time, decays=args.decays)
        c.name, c.settings = name, s
        contenders.append(c)
    race(contenders, args.budget, eval_data, args.chunk, fractions=(0.5, 1.0))
    rows = []
    for c in contenders:
        row = dict(name=c.name, parameters=count_parameters(c.model), steps=c.step,
                   images=c.images_seen, cpu_s=c.clock, images_per_cpu_s=c.images_seen / c.clock,
                   half_bits_per_dim=c.curve[0]["bits_per_dim"],
                   raw_bits_per_dim=evaluate(c.model, eval_data, 250)["bits_per_dim"])
        capped = None  # EMAs whose decay never rose above the warm-up rule are all the same average
        for d, ema in sorted(c.emas.items()):
            n = ema.n_updates - 1  # the last update used min(d, (1 + n) / (10 + n))
            if (1 + n) / (10 + n) <= d and capped is not None:
                row[f"ema{d:g}"] = capped
                continue
            with ema.applied(c.model):
                row[f"ema{d:g}"] = evaluate(c.model, eval_data, 250)["bits_per_dim"]
            if (1 + n) / (10 + n) <= d:
                capped = row[f"ema{d:g}"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(dict(budget_cpu_s=args.budget, eval_images=args.eval_images,
                                    date=time.strftime("%Y-%m-%d %H:%M"), rows=rows)) + "\n")
    return rows


if __name__ == "__main__":
    main()
