"""The command line: `python -m pixelcnn_lib train|sample|evaluate ...` (also `pixelcnn ...`).

    pixelcnn train --dataset binarized-mnist --out runs/bmnist       # train, checkpoint, metrics, plot
    pixelcnn train --out runs/bmnist --resume                         # continue where it stopped
    pixelcnn sample runs/bmnist/checkpoint.pt --per-class 4 --out samples.png
    pixelcnn evaluate runs/bmnist/checkpoint.pt --split test           # JSON on stdout
    torchrun --nproc_per_node=4 -m pixelcnn_lib train --dataset cifar10 --out runs/c10

Bad input (unknown dataset, missing data, a foreign checkpoint, even kernel sizes, an
unwritable --out) ends with one line on stderr naming the fix and exit status 2, before
anything is written. Ctrl-C during training saves a checkpoint and exits with status 130.
"""
import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

from .checkpoints import CheckpointError, readable_mode
from .data import DatasetNotFoundError
from .devices import pick_device

USAGE_ERROR, INTERRUPTED = 2, 130

# CLI name -> (load_dataset name, default levels, default binarization)
DATASETS = {"mnist": ("mnist", 256, None), "binarized-mnist": ("mnist", 2, "stochastic"),
            "fashion-mnist": ("fashion_mnist", 256, None), "cifar10": ("cifar10", 256, None)}

# Options that define what a run computes. Their defaults live here (the parser's are None), so
# `train --resume` can tell an option typed on the command line from one left out: left out, it
# comes from the run's config.json; typed and different, the resume is refused.
TRAIN_DEFAULTS = dict(dataset="binarized-mnist", levels=None, binarization=None, classes=True,
                      hidden_channels=64, layers=15, kernel_size=3, causal_kernel_size=7,
                      skip_channels=None, head_channels=None, dilations=None, epochs=10,
                      max_steps=None, batch_size=32, lr=1e-3, weight_decay=0.0, max_grad_norm=1.0,
                      warmup_steps=None, ema=0.999, seed=0, val_images=None, log_every=50,
                      eval_every=None)
# Options a resumed run may change without changing its result (or that only extend it).
RESUMABLE_CHANGES = {"epochs", "max_steps"}


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


def _ints(text):
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 1,2,4, got {text!r}")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line (argparse's own prints the whole usage first)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    p = _Parser(prog="pixelcnn", description="Train, sample and evaluate PixelCNNs.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate}")

    t = sub.add_parser("train", help="train a gated PixelCNN on a dataset",
                       description="Train a gated PixelCNN. Writes OUT/checkpoint.pt, "
                                   "OUT/metrics.jsonl, OUT/loss.png and OUT/config.json.")
    d = t.add_argument_group("data")
    d.add_argument("--dataset", choices=sorted(DATASETS), help="default binarized-mnist")
    d.add_argument("--data-root", help="directory holding the dataset files "
                                       "(default: env PIXELCNN_DATA, else ~/.cache/pixelcnn_lib)")
    d.add_argument("--no-download", action="store_true",
                   help="never download; fail if files are missing")
    d.add_argument("--levels", type=int,
                   help="colour levels per sub-pixel (default 256; 2 for binarized-mnist)")
    d.add_argument("--binarization", choices=("threshold", "stochastic"),
                   help="with 2 levels: byte >= 128, or pixels drawn once ~ Bernoulli(intensity) "
                        "(default for binarized-mnist: stochastic, as published)")
    d.add_argument("--val-images", type=int,
                   help="score only the first K validation images (default all 5,000)")
    m = t.add_argument_group("model (GatedPixelCNN)")
    m.add_argument("--classes", action=argparse.BooleanOptionalAction, default=None,
                   help="condition on the class label (default on)")
    m.add_argument("--hidden-channels", type=int, help="channels of every gated block (default 64)")
    m.add_argument("--layers", type=int, help="layers: the causal block plus gated blocks (default 15)")
    m.add_argument("--kernel-size", type=int, help="hidden (gated block) kernel size, odd (default 3)")
    m.add_argument("--causal-kernel-size", type=int,
                   help="first (causal) block kernel size, odd (default 7)")
    m.add_argument("--skip-channels", type=int, help="skip-path channels (default: hidden channels)")
    m.add_argument("--head-channels", type=int, help="output head channels (default: skip channels)")
    m.add_argument("--dilations", type=_ints, help="one per gated block, e.g. 1,2,1,4,1,2,1")
    o = t.add_argument_group("optimisation")
    o.add_argument("--epochs", type=int, help="default 10")
    o.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    o.add_argument("--batch-size", type=int,
                   help="global batch, shared by all torchrun processes (default 32)")
    o.add_argument("--lr", type=float, help="peak learning rate, warmup then cosine (default 1e-3)")
    o.add_argument("--weight-decay", type=float, help="AdamW weight decay (default 0)")
    o.add_argument("--max-grad-norm", type=float, help="gradient clipping norm, 0 = off (default 1.0)")
    o.add_argument("--warmup-steps", type=int, help="default: 10%% of the steps, at most 100")
    o.add_argument("--ema", type=float, help="weight-average decay, 0 = off (default 0.999)")
    o.add_argument("--no-ema", dest="ema", action="store_const", const=0.0,
                   help="keep no weight average")
    o.add_argument("--seed", type=int, help="initialisation and batch order (default 0)")
    r = t.add_argument_group("run")
    r.add_argument("--out", required=True,
                   help="run directory (created; must not hold a run unless --resume)")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --out exactly where it stopped")
    r.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the fastest present)")
    r.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                   help="mixed precision on CUDA (bf16, or fp16 on older GPUs); default on")
    r.add_argument("--compile", action="store_true",
                   help="torch.compile the model (minutes to compile)")
    r.add_argument("--log-every", type=int, help="steps per metrics line (default 50)")
    r.add_argument("--eval-every", type=int,
                   help="also validate every N steps (default: at epoch ends)")
    r.add_argument("--checkpoint-every", type=int,
                   help="also checkpoint every N steps (default: epoch ends)")
    r.add_argument("--max-minutes", type=float, help="stop cleanly after this wall-clock budget")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="draw images from a checkpoint into a PNG grid and an .npy")
    s.add_argument("checkpoint")
    s.add_argument("-n", "--n", type=int, help="number of images (default 16)")
    s.add_argument("--labels", type=_ints, help="one class label per image, e.g. 0,1,2")
    s.add_argument("--per-class", type=int, help="K images of every class, one class per grid row")
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--method", choices=("cached", "naive"), default="cached")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="samples.png", help="PNG grid; the levels go to the same name .npy")
    s.add_argument("--shape", type=_ints, help="C,H,W (default: the training images' shape)")
    s.add_argument("--raw-weights", action="store_true", help="use the raw weights, not the average")
    s.add_argument("--device")

    e = sub.add_parser("evaluate", help="test bits/dim and nats/image of a checkpoint, as JSON")
    e.add_argument("checkpoint")
    e.add_argument("--dataset", choices=sorted(DATASETS), help="default: the one it was trained on")
    e.add_argument("--split", choices=("train", "val", "test"), default="test")
    e.add_argument("--data-root")
    e.add_argument("--no-download", action="store_true")
    e.add_argument("--limit", type=int, help="score only the first K images")
    e.add_argument("--batch-size", type=int, default=256)
    e.add_argument("--raw-weights", action="store_true", help="use the raw weights, not the average")
    e.add_argument("--device")
    return p


def one_line(error):
    """The message of an error as one line, with the fix it names."""
    if isinstance(error, DatasetNotFoundError):
        first = str(error).splitlines()[0].rstrip(".")
        return (f"{first}. Put the dataset files there, pass --data-root DIR holding them, or set "
                f"PIXELCNN_DATA (see `pixelcnn_lib.data.REQUIRED_FILES`).")
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


# ----------------------------------------------------------------------------- shared by the commands

def device_from(text):
    """The torch.device a --device option names (default: the fastest present), or a UsageError."""
    if text is None:
        return pick_device()
    try:
        device = torch.device(text)
    except RuntimeError:
        raise UsageError(f"--device {text!r} is not a device: use cpu, cuda, cuda:1 or mps.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda, but PyTorch sees no CUDA GPU here: use --device cpu.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise UsageError("--device mps, but Apple MPS is not available here: use --device cpu.")
    return device


def check_writable(directory):
    """Refuse an output directory that cannot be created or written, before writing anything."""
    directory = Path(directory)
    probe = directory
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"cannot write to {directory}: {probe} is a file, not a directory; "
                         "choose another output path.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to {directory}: {probe} is not writable; choose a directory "
                         "you can write to.")


def write_atomic(path, content):
    """Write text, a matplotlib figure, an image tensor or an array via a temp file + rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        os.chmod(tmp, readable_mode())
        if isinstance(content, str):
            Path(tmp).write_text(content)
        elif hasattr(content, "savefig"):
            import matplotlib.pyplot as plt
            content.savefig(tmp, format="png")
            plt.close(content)
        elif isinstance(content, torch.Tensor):
            from torchvision.utils import save_image
            save_image(content, tmp, format="png")
        else:
            import numpy as np
            with open(tmp, "wb") as f:
                np.save(f, content)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None):
    """Entry point of `python -m pixelcnn_lib` and the `pixelcnn` script; returns the exit status."""
    args = build_parser().parse_args(argv)
    from . import commands
    try:
        return {"train": commands.train, "sample": commands.sample, "evaluate": commands.evaluate}[
            args.command](args)
    except (UsageError, ValueError, DatasetNotFoundError, CheckpointError, FileNotFoundError,
            PermissionError) as e:
        print(f"pixelcnn {args.command}: error: {one_line(e)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside training: no checkpoint for this
        print(f"pixelcnn {args.command}: interrupted.", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
