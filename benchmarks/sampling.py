"""Sampling speed: the naive sampler (one full forward pass per pixel) against the cached one.

    python benchmarks/sampling.py                     # chapter-6 model, batches 1, 16, 64 -> book/data/bench_sampling.json
    python benchmarks/sampling.py --batches 16 --naive-pixels 56
    python benchmarks/sampling.py --quick             # seconds: tiny model, 6x6 images (no JSON unless --out)

Both samplers run in the same process, one batch size after the other (naive, then cached), on
the chapter-6 model (GatedPixelCNN(1, 256, hidden 64, 15 layers, 10 classes); weights are random:
speed does not depend on them). Cached sampling is timed over the whole image.

The naive sampler is timed over the FIRST `--naive-pixels` pixels only and scaled to the whole
image (H * W / N), and the table and JSON say so. That is exact up to timing noise because every
naive step is the same full forward pass of the whole image, whichever pixel it draws; timing all
784 steps would take hours on a CPU. `--naive-pixels 0` times the full image.

As a check that the two are the same sampler, the naive run draws its pixels with the same seed as
the cached run: the first N pixels of both agree (float32 rounding can, rarely, flip a draw; the
number of differing pixels is recorded).
"""
import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pixelcnn_lib import GatedPixelCNN, count_parameters  # noqa: E402
from pixelcnn_lib.sampling import sample  # noqa: E402
from pixelcnn_lib.training import device_name, pick_device  # noqa: E402
from report import provenance, write_json  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device):
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", default="1,16,64", help="comma-separated batch sizes")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=15)
    p.add_argument("--levels", type=int, default=256)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--size", type=int, default=28, help="image height and width")
    p.add_argument("--naive-pixels", type=int, default=28,
                   help="time the naive sampler over this many pixels and scale (0: the whole image)")
    p.add_argument("--quick", action="store_true", help="tiny model, 8x8 images: checks that it runs")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument("--out", default=None, help="JSON path (default book/data/bench_sampling.json; "
                                                 "with --quick: none)")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.layers, args.size, args.naive_pixels = 8, 3, 6, 0
        if args.batches == p.get_default("batches"):
            args.batches = "1,2"
    if args.threads:
        torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    device = torch.device(args.device) if args.device else pick_device()
    out = Path(args.out) if args.out else (None if args.quick else ROOT / "book" / "data" / "bench_sampling.json")

    torch.manual_seed(0)
    model = GatedPixelCNN(1, args.levels, hidden_channels=args.hidden, n_layers=args.layers,
                          n_classes=args.classes).to(device).eval()
    H = W = args.size
    shape = (1, H, W)
    total = H * W
    n_naive = total if args.naive_pixels <= 0 else min(args.naive_pixels, total)
    scaled = n_naive < total
    note = (f"naive timed over first {n_naive} pixels, scaled x{total / n_naive:g} to {total}" if scaled
            else "naive timed over the whole image")
    print(f"{device_name(device)}, torch {torch.__version__}; GatedPixelCNN {args.layers} layers x "
          f"{args.hidden} channels, {args.levels} levels, {H}x{W}; {note}", flush=True)
    # warm-up: allocator, kernels
    sample(model, 1, (1, 4, 4), 0, generator=0, method="cached")
    sample(model, 1, (1, 4, 4), 0, generator=0)

    rows = []
    for b in batches:
        y = torch.arange(b) % args.classes
        keep = torch.ones(H, W, dtype=torch.bool)
        keep.view(-1)[:n_naive] = False  # naive draws only the first n_naive pixels
        init = torch.zeros(1, H, W, dtype=torch.long)
        naive, t_naive = timed(lambda: sample(model, b, shape, y, generator=1, init=init, keep=keep), device)
        cached, t_cached = timed(lambda: sample(model, b, shape, y, generator=1, method="cached"), device)
        first = ~keep
        differ = int((naive[:, :, first] != cached[:, :, first]).sum())
        naive_full = t_naive * total / n_naive
        row = dict(batch=b, naive_s=naive_full, naive_measured_s=t_naive, naive_pixels_timed=n_naive,
                   cached_s=t_cached, speedup=naive_full / t_cached,
                   naive_ms_per_pixel=1000 * t_naive / n_naive, cached_ms_per_pixel=1000 * t_cached / total,
                   first_pixels_differing=differ)
        rows.append(row)
        print(f"batch {b:>3}: naive {naive_full:9.1f} s{'*' if scaled else ''}  cached {t_cached:7.1f} s  "
              f"speedup {row['speedup']:6.1f}x  (first {n_naive} pixels differ in {differ} of "
              f"{b * n_naive} draws)", flush=True)

    result = dict(
        benchmark=f"sampling {H}x{W} greyscale images, seconds per batch",
        **provenance(device, __file__, argv),
        model=dict(name="GatedPixelCNN", hidden_channels=args.hidden, n_layers=args.layers,
                   color_levels=args.levels, n_classes=args.classes, parameters=count_parameters(model)),
        image_size=[1, H, W], naive_scaled=scaled, note=note, rows=rows)
    print(f"\n{'batch':>5}{'naive s':>11}{'cached s':>10}{'speedup':>9}")
    for r in rows:
        print(f"{r['batch']:>5}{r['naive_s']:>10.1f}{'*' if scaled else ' '}{r['cached_s']:>10.2f}"
              f"{r['speedup']:>8.1f}x")
    if scaled:
        print(f"* {note}")
    write_json(result, out)
    return result


if __name__ == "__main__":
    main()
