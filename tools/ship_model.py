#!/usr/bin/env python3
"""Turn a command-line training run into the checkpoint shipped with the library.

    python tools/ship_model.py runs/ch6_mnist            # -> pixelcnn_lib/weights/ch6_mnist.pt

The run directory is what `python -m pixelcnn_lib train ... --out DIR` wrote (chapter 6 prints
the exact command). The shipped file keeps ONE set of weights, the raw or the averaged (EMA)
ones, whichever scores better on the full validation split (`choose_weights`; the test split
plays no part in the choice), with the run's history (per-step train/validation records) and
its training settings, but not the optimizer state, so it stays under 2 MB. It also records the
test bits/dim of the shipped weights on a fixed subset (the first 500 images of the official
MNIST test split, 256 levels), which tests/test_shipped_model.py recomputes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pixelcnn_lib.checkpoints import (SHIPPED_DIR, load_checkpoint,  # noqa: E402
                                      model_from_state, save_checkpoint)
from pixelcnn_lib.data import load_dataset, subset  # noqa: E402
from pixelcnn_lib.evaluation import evaluate  # noqa: E402

CHECK_IMAGES = 500
MAX_BYTES = 2_000_000


def subset_check(model) -> dict:
    """Test bits/dim on the fixed subset the shipped-model test recomputes."""
    test = subset(load_dataset("mnist", "test", levels=model.color_levels), CHECK_IMAGES)
    metrics = evaluate(model.cpu().eval(), test)
    return {"split": "test", "first_images": CHECK_IMAGES, "bits_per_dim": metrics["bits_per_dim"]}


def choose_weights(raw, averaged) -> dict:
    """Validation bits/dim (all 5,000 images) of both weight sets, and the better one's name."""
    val = load_dataset("mnist", "val", levels=raw.color_levels)
    scores = {f"val_{name}_bits_per_dim": evaluate(model.cpu().eval(), val)["bits_per_dim"]
              for name, model in (("raw", raw), ("ema", averaged))}
    chosen = "ema" if scores["val_ema_bits_per_dim"] < scores["val_raw_bits_per_dim"] else "raw"
    return {"chosen": chosen, "split": "val", "n_images": len(val), **scores}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run directory written by `pixelcnn train --out`")
    parser.add_argument("--name", default="ch6_mnist.pt")
    args = parser.parse_args(argv)
    state = load_checkpoint(args.run / "checkpoint.pt")
    raw = model_from_state(state, ema=False)
    averaged = model_from_state(state, ema=True)
    choice = choose_weights(raw, averaged)
    shipped = averaged if choice["chosen"] == "ema" else raw
    settings = json.loads((args.run / "config.json").read_text())["settings"]
    history = state["history"]
    command = (args.run / "command.txt").read_text().strip() if (args.run / "command.txt").exists() else None
    extra = {key: state[key] for key in ("train_config", "data") if key in state}
    extra.update(shipped_check=subset_check(shipped), command=command, run_settings=settings,
                 shipped_weights=choice)
    out = save_checkpoint(SHIPPED_DIR / args.name, shipped, None, state["epoch"], history,
                          extra=extra)
    size = out.stat().st_size
    if size > MAX_BYTES:
        out.unlink()
        sys.exit(f"{out} would be {size:,} bytes, over the {MAX_BYTES:,} allowed: ship a smaller model.")
    print(f"{out}: {size:,} bytes; {choice['chosen']} weights (validation: raw "
          f"{choice['val_raw_bits_per_dim']:.4f}, EMA {choice['val_ema_bits_per_dim']:.4f} "
          f"bits/dim); first {CHECK_IMAGES} test images: "
          f"{extra['shipped_check']['bits_per_dim']:.6f} bits/dim")


if __name__ == "__main__":
    main()
