"""Training throughput: a straightforward reference gated PixelCNN against the library's model.

    python benchmarks/training.py            # chapter-6 model, batch 32, writes book/data/bench_training.json
    python benchmarks/training.py --quick    # a few seconds: smaller model and fewer steps (no JSON unless --out)

One training step = forward, cross-entropy, backward, AdamW step (no gradient clipping, fp32),
on random 28x28 images with labels. Every variant is built with the same width, depth and
heads, and the variants are timed INTERLEAVED (repeat 1 of every variant, then repeat 2, ...)
so that a machine shared with other work slows them all alike; the reported throughput is the
median images/s over the repeats, and each speedup is the median over repeats of the ratio
measured WITHIN a repeat (paired), which is robust to the load changing between repeats.

Variants, each adding one change to its base (the variant named in brackets):
  reference        benchmarks/reference.py: masked 7x7/3x3 vertical and 1x7/1x3 horizontal
                   kernels, the mask multiplied into every weight on every forward
  library          [reference] pixelcnn_lib.GatedPixelCNN: shifted kernels ((k//2+1) x k and 1 x (k//2+1)),
                   so no dead taps, and no mask multiply where nothing is masked
  library+CL       [library] the same, with model and input in channels_last memory format
  library+compile  [library] torch.compile of the library model (only with --compile: it costs minutes of
                   compilation and on CPU it may not pay)

Each row also records the training step's FLOPs per image (convolutions and matrix products,
forward and backward, counted by torch.utils.flop_counter) and the GFLOP/s reached. The ratio of
the reference's FLOPs to the library's is the speedup that removing dead taps can buy at equal
efficiency: the library computes the same function, so it can only go faster beyond that ratio
by running its convolutions more efficiently than the reference does.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pixelcnn_lib import GatedPixelCNN, count_parameters  # noqa: E402
from pixelcnn_lib.training import pick_device  # noqa: E402
from reference import ReferenceGatedPixelCNN  # noqa: E402
from report import provenance, write_json  # noqa: E402


BASE = {"library": "reference", "library+CL": "library", "library+compile": "library"}


def build(variant, args, device):
    torch.manual_seed(0)
    if variant == "reference":
        model = ReferenceGatedPixelCNN(args.levels, args.hidden, args.layers, args.classes)
    else:
        model = GatedPixelCNN(1, args.levels, hidden_channels=args.hidden, n_layers=args.layers,
                              n_classes=args.classes)
    model = model.to(device).train()
    channels_last = variant in ("library+CL",)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = model
    if variant == "library+compile":
        forward = torch.compile(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    return model, forward, opt, channels_last


def make_step(variant, forward, opt):
    def step(x, y):
        if variant == "reference":
            logits = forward(x, y)
        else:
            logits = forward(x, y, check=False)
        loss = F.cross_entropy(logits, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return step


def flops_per_image(variant, args, device):
    """FLOPs of forward + cross-entropy + backward for one image (optimizer step not counted).

    `variant` is "reference" or "library": the others run the library's model, so its FLOPs."""
    model = build(variant, args, device)[0]
    x = torch.randint(0, args.levels, (2, 1, 28, 28), device=device)
    y = torch.randint(0, args.classes, (2,), device=device)
    with FlopCounterMode(display=False) as counter:
        logits = model(x, y) if variant == "reference" else model(x, y, check=False)
        F.cross_entropy(logits, x).backward()
    return counter.get_total_flops() / 2


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=15)
    p.add_argument("--levels", type=int, default=256)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=5, help="timed steps per repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument("--out", default=None, help="JSON path (default book/data/bench_training.json; "
                                                 "with --quick: none)")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.layers, args.batch, args.steps, args.repeats = 16, 4, 8, 2, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else pick_device()
    out = Path(args.out) if args.out else (None if args.quick else ROOT / "book" / "data" / "bench_training.json")

    variants = ["reference", "library", "library+CL"] + (["library+compile"] if args.compile else [])
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, args.levels, (args.batch, 1, 28, 28), generator=g).to(device)
    y = torch.randint(0, args.classes, (args.batch,), generator=g).to(device)
    runs = {}
    for v in variants:
        model, forward, opt, cl = build(v, args, device)
        xv = x.contiguous(memory_format=torch.channels_last) if cl else x
        step = make_step(v, forward, opt)
        t0 = time.perf_counter()
        for _ in range(2):  # warm-up (and compilation)
            step(xv, y)
        sync(device)
        runs[v] = dict(step=step, x=xv, params=count_parameters(model),
                       warmup_s=time.perf_counter() - t0, ips=[])
        print(f"built {v}: warm-up {runs[v]['warmup_s']:.1f} s", flush=True)

    # FLOPs depend only on the architecture: count the reference's and the library's once each.
    flops = {kind: flops_per_image(kind, args, device) for kind in ("reference", "library")}
    for v in variants:
        runs[v]["flops"] = flops["reference" if v == "reference" else "library"]

    for r in range(args.repeats):
        for v in variants:
            run = runs[v]
            sync(device)
            t0 = time.perf_counter()
            for _ in range(args.steps):
                run["step"](run["x"], y)
            sync(device)
            run["ips"].append(args.steps * args.batch / (time.perf_counter() - t0))
        print(f"repeat {r + 1}/{args.repeats}: " + ", ".join(
            f"{v} {runs[v]['ips'][-1]:.3g}" for v in variants) + " images/s", flush=True)

    def paired(a, b):  # median over repeats of the ratio within each repeat: robust to load drift
        return statistics.median(x / y for x, y in zip(runs[a]["ips"], runs[b]["ips"]))

    rows = []
    for v in variants:
        rows.append(dict(variant=v, images_per_s=statistics.median(runs[v]["ips"]),
                         images_per_s_all=runs[v]["ips"], speedup_vs_reference=paired(v, "reference"),
                         base=BASE.get(v), speedup_vs_base=paired(v, BASE[v]) if v in BASE else None,
                         trainable_parameters=runs[v]["params"], warmup_s=runs[v]["warmup_s"],
                         gflop_per_image=runs[v]["flops"] / 1e9,
                         gflop_per_s=statistics.median(runs[v]["ips"]) * runs[v]["flops"] / 1e9))
    flop_bound = runs["reference"]["flops"] / runs["library"]["flops"]
    result = dict(
        benchmark="training step (forward + cross-entropy + backward + AdamW), fp32, random 28x28 images",
        **provenance(device, __file__, argv),
        model=dict(hidden_channels=args.hidden, n_layers=args.layers, color_levels=args.levels,
                   n_classes=args.classes),
        batch=args.batch, steps_per_repeat=args.steps, repeats=args.repeats,
        method="variants timed interleaved; median images/s over the repeats; speedups: median of per-repeat ratios",
        flop_ratio_reference_to_library=flop_bound,
        rows=rows)
    print(f"\n{result['hardware']}, torch {result['torch']}, batch {args.batch}, "
          f"{args.layers} layers x {args.hidden} channels")
    print(f"{'variant':<17}{'images/s':>10}{'vs reference':>14}{'vs its base':>13}{'GFLOP/image':>13}{'GFLOP/s':>9}")
    for row in rows:
        prevs = "" if row["base"] is None else f"{row['speedup_vs_base']:.2f}x"
        print(f"{row['variant']:<17}{row['images_per_s']:>10.3g}{row['speedup_vs_reference']:>13.2f}x{prevs:>13}"
              f"{row['gflop_per_image']:>13.2f}{row['gflop_per_s']:>9.1f}")
    print(f"the reference does {flop_bound:.2f}x the library's FLOPs per image: the speedup expected "
          f"at equal GFLOP/s")
    write_json(result, out)
    return result


if __name__ == "__main__":
    main()
