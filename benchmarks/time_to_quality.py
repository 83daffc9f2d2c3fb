"""Time to quality: three training recipes, the same wall-clock budget, test bits/dim over time.

    python benchmarks/time_to_quality.py               # T = 480 s each, 2 threads: ~30 min on 2 cores
    python benchmarks/time_to_quality.py --budget 900  # a longer race
    python benchmarks/time_to_quality.py --quick       # seconds: tiny models, checks that it all runs

The contenders (benchmarks/recipes.py): the UvA tutorial's recipe, the original project's defaults,
and the library's recipe. Each gets the same training budget T, on the same threads, measured on
its own training clock (batch gathering, forward, loss, backward, clipping, optimizer and EMA
updates; evaluation is NOT counted). The recipes train INTERLEAVED, a few seconds each in turn,
each keeping its own model, optimizer and data order, so a machine whose load drifts slows all
three alike. At fixed points of each recipe's own clock the model is evaluated (EMA weights where
the recipe keeps an EMA) on a fixed random subset of the official MNIST test split at 256 levels;
at the end on the full test split too (unless --no-full-test).

Written to book/data/time_to_quality.json (hardware, PyTorch, threads, command, the curves of
bits/dim against training seconds) and book/data/time_to_quality.png. The headline number:
the first point of the library's clock at which its bits/dim is at or below the tutorial's at T.
"""
import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pixelcnn_lib.book import time_to_quality_table, time_to_reach  # noqa: E402
from pixelcnn_lib.data import load_dataset, subset  # noqa: E402
from pixelcnn_lib.ema import EMA  # noqa: E402
from pixelcnn_lib.models import count_parameters  # noqa: E402
from pixelcnn_lib.training import evaluate, pick_device  # noqa: E402
from recipes import all_recipes, stored_parameters  # noqa: E402
from report import provenance, write_json  # noqa: E402

EVAL_FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 3 / 8, 1 / 2, 5 / 8, 3 / 4, 7 / 8, 1)


class Contender:
    """One recipe in training: model, optimizer, EMA, data order, step count and its own clock."""

    def __init__(self, recipe, images, device, budget_s, seed=0, timer=time.perf_counter):
        self.recipe, self.images, self.device = recipe, images, device
        self.budget_s, self.timer = budget_s, timer
        torch.manual_seed(seed)
        self.model = recipe.build().to(device).train()
        self.optimizer = recipe.optimizer(self.model.parameters())
        self.ema = EMA(self.model, recipe.ema_decay) if recipe.ema_decay else None
        self.generator = torch.Generator().manual_seed(seed)
        self.steps_per_epoch = math.ceil(len(images) / recipe.batch_size)
        self.order, self.position = None, 0
        self.step, self.images_seen, self.clock = 0, 0, 0.0
        self.curve = []
        self.diverged = False
        self.warm_up()

    def warm_up(self):
        """One untimed forward and backward (no optimizer step, gradients dropped), so one-time
        costs such as kernel selection and memory allocation stay off the training clock."""
        x = self.images[:self.recipe.batch_size].long()
        F.cross_entropy(self.model(x, check=False), x).backward()
        self.optimizer.zero_grad(set_to_none=True)

    def batch(self):
        """Next batch of a shuffled pass over the training images (a new order every epoch)."""
        if self.order is None or self.position >= len(self.order):
            self.order = torch.randperm(len(self.images), generator=self.generator)
            self.position = 0
        idx = self.order[self.position:self.position + self.recipe.batch_size]
        self.position += len(idx)
        return self.images[idx.to(self.images.device)].long()

    def train_step(self):
        r = self.recipe
        x = self.batch()
        lr = r.lr(self.step, self.clock / self.budget_s, self.steps_per_epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(self.model(x, check=False), x)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if r.clip_grad:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), r.clip_grad)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        self.images_seen += len(x)
        return loss

    def train_until(self, stop_s):
        """Train whole steps until this contender's clock reaches stop_s (the last may overrun it)."""
        while self.clock < stop_s and not self.diverged:
            t0 = self.timer()
            loss = self.train_step()
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            self.clock += self.timer() - t0
            if self.step % 50 == 0 and not torch.isfinite(loss):
                self.diverged = True

    def evaluate(self, data, batch_size=250):
        if self.ema is None:
            return evaluate(self.model, data, batch_size)["bits_per_dim"]
        with self.ema.applied(self.model):
            return evaluate(self.model, data, batch_size)["bits_per_dim"]

    def record(self, data):
        bpd = self.evaluate(data)
        if not math.isfinite(bpd):
            self.diverged = True
        self.curve.append(dict(train_s=self.clock, step=self.step, images=self.images_seen,
                               bits_per_dim=bpd))
        return bpd


def race(contenders, budget_s, eval_data, chunk_s=5.0, fractions=EVAL_FRACTIONS, progress=True):
    """Train the contenders in turns of `chunk_s` of their own clocks, evaluating each at
    budget_s * fractions, until every clock has reached budget_s."""
    from tqdm.auto import tqdm

    points = [budget_s * f for f in fractions]
    next_point = {id(c): 0 for c in contenders}
    bar = tqdm(total=round(budget_s * len(contenders)), unit="s", desc="training clock",
               disable=not progress, mininterval=1.0)
    while any(c.clock < budget_s and not c.diverged for c in contenders):
        for c in contenders:
            if c.clock >= budget_s or c.diverged:
                continue
            before = c.clock
            k = next_point[id(c)]
            c.train_until(min(c.clock + chunk_s, points[k]))
            bar.update(round(min(c.clock, budget_s)) - round(min(before, budget_s)))
            if c.clock >= points[k] or c.diverged:
                c.record(eval_data)
                while next_point[id(c)] < len(points) - 1 and points[next_point[id(c)]] <= c.clock:
                    next_point[id(c)] += 1
                bar.set_postfix({getattr(x, "name", x.recipe.name):
                                 f"{x.curve[-1]['bits_per_dim']:.3f}" for x in contenders if x.curve})
    bar.close()


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    finals = []
    for r in result["recipes"]:
        t = [p["train_s"] / 60 for p in r["curve"]]
        b = [p["bits_per_dim"] for p in r["curve"]]
        finals.append(b[-1])
        ax.plot(t, b, marker="o", ms=3, label=f"{r['label']} ({r['parameters']:,} params)")
    budget_min = result["budget_s"] / 60
    tut = result["summary"]["tutorial_bits_per_dim_at_budget"]
    ax.axhline(tut, color="grey", ls="--", lw=0.8, label="tutorial's bits/dim at T")
    ax.axvline(budget_min / 2, color="grey", ls=":", lw=0.8)
    points = [p["bits_per_dim"] for r in result["recipes"] for p in r["curve"]]
    ax.set_ylim(min(points) - 0.05, min(max(points) + 0.05, max(finals) + 0.6))  # early ones may be off
    ax.text(budget_min / 2, ax.get_ylim()[1], " T/2", va="top", fontsize=8, color="grey")
    ax.set_xlabel("training wall time, minutes (evaluation excluded)")
    ax.set_ylabel(f"test bits/dim ({result['eval']['n_images']:,} test images)")
    ax.set_title(f"T = {result['budget_s']:,.0f} s of training per recipe, {result['hardware']}",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=480.0, help="training seconds per recipe (T)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    p.add_argument("--chunk", type=float, default=5.0, help="seconds each recipe trains per turn")
    p.add_argument("--eval-images", type=int, default=1000,
                   help="fixed random subset of the official test split evaluated along the way")
    p.add_argument("--no-full-test", action="store_true",
                   help="skip the final evaluation on all 10,000 test images")
    p.add_argument("--train-images", type=int, default=None,
                   help="use only the first N training images")
    p.add_argument("--data", default=None, help="dataset root (default: PIXELCNN_DATA or the cache)")
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true",
                   help="tiny models, 2 s budget, 64 test images: checks that everything runs")
    p.add_argument("--out", default=None, help="JSON path (default book/data/time_to_quality.json; "
                                                 "with --quick: none unless given)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.budget, args.chunk, args.eval_images, args.no_full_test = 2.0, 0.5, 64, True
        args.train_images = args.train_images or 2000
    if args.budget <= 0 or args.chunk <= 0 or args.eval_images < 1:
        p.error("--budget, --chunk and --eval-images must be positive")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else pick_device()
    default_out = ROOT / "book" / "data" / "time_to_quality.json"
    out = Path(args.out) if args.out else (None if args.quick else default_out)

    train_data = load_dataset("mnist", "train", levels=256, root=args.data)
    if args.train_images:
        train_data = subset(train_data, args.train_images)
    test_data = load_dataset("mnist", "test", levels=256, root=args.data)
    pick = torch.randperm(len(test_data), generator=torch.Generator().manual_seed(1234))
    eval_idx = pick[:args.eval_images].sort().values
    eval_data = type(test_data)(test_data.images[eval_idx], test_data.labels[eval_idx], 256,
                                test_data.name, "test")
    images = train_data.images.to(device)

    recipes = all_recipes(args.quick)
    contenders = [Contender(r, images, device, args.budget, args.seed) for r in recipes]
    for c in contenders:
        print(f"{c.recipe.label}: {count_parameters(c.model):,} live parameters "
              f"({stored_parameters(c.model):,} stored), batch {c.recipe.batch_size}", flush=True)
    t_start = time.perf_counter()
    fractions = (0.25, 0.5, 1.0) if args.quick else EVAL_FRACTIONS
    race(contenders, args.budget, eval_data, args.chunk, fractions, progress=not args.no_progress)

    rows = []
    for c in contenders:
        row = dict(name=c.recipe.name, label=c.recipe.label, settings=c.recipe.settings,
                   parameters=count_parameters(c.model),
                   stored_parameters=stored_parameters(c.model),
                   batch_size=c.recipe.batch_size, steps=c.step, images_seen=c.images_seen,
                   epochs=c.images_seen / len(train_data), train_s=c.clock,
                   images_per_s=c.images_seen / c.clock if c.clock else 0.0,
                   diverged=c.diverged, curve=c.curve,
                   final_bits_per_dim=c.curve[-1]["bits_per_dim"] if c.curve else None)
        if c.ema is not None:
            raw = evaluate(c.model, eval_data, 250)["bits_per_dim"]
            row["final_bits_per_dim_raw_weights"] = raw
        if not args.no_full_test:
            print(f"evaluating {c.recipe.label} on the full test split ...", flush=True)
            row["full_test_bits_per_dim"] = c.evaluate(test_data)
        rows.append(row)
    by_name = {r["name"]: r for r in rows}
    tutorial_final = by_name["tutorial"]["final_bits_per_dim"]
    reach = time_to_reach(by_name["library"]["curve"], tutorial_final)
    summary = dict(
        tutorial_bits_per_dim_at_budget=tutorial_final,
        library_bits_per_dim_at_budget=by_name["library"]["final_bits_per_dim"],
        original_bits_per_dim_at_budget=by_name["original"]["final_bits_per_dim"],
        library_time_to_tutorial_final_s=reach,
        library_time_to_tutorial_final_fraction=None if reach is None else reach / args.budget,
        target="library reaches the tutorial's bits/dim at T within T/2",
        target_met=reach is not None and reach <= args.budget / 2)
    result = dict(
        benchmark="time to quality: test bits/dim against training wall time, same budget per recipe",
        **provenance(device, __file__, argv),
        budget_s=args.budget, chunk_s=args.chunk, quick=args.quick,
        data=dict(train=f"MNIST train split of pixelcnn_lib.data ({len(train_data):,} images), "
                        "256 levels",
                  train_images=len(train_data)),
        eval=dict(split="official MNIST test split, 256 levels", n_images=len(eval_data),
                  subset="random, torch.Generator seed 1234, sorted", full_test=not args.no_full_test,
                  fractions_of_budget=list(fractions),
                  weights="EMA weights for recipes with an EMA"),
        method=("recipes trained interleaved in turns of chunk_s seconds of their own training "
                "clock; "
                "evaluation time excluded from the clock"),
        total_wall_s=time.perf_counter() - t_start,
        recipes=rows, summary=summary)
    print("\n" + time_to_quality_table(result))
    write_json(result, out)
    if out is not None:
        plot(result, out.with_suffix(".png"))
    return result


if __name__ == "__main__":
    main()
