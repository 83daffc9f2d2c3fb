"""The command line: `python -m pixelcnn_lib train|sample|evaluate ...` (also `pixelcnn ...`).

    pixelcnn train --dataset binarized-mnist --out runs/bmnist       # train, checkpoint, metrics, plot
    pixelcnn train --out runs/bmnist --resume                         # continue where it stopped
    pixelcnn sample runs/bmnist/checkpoint.pt --per-class 4 --out samples.png
    pixelcnn evaluate runs/bmnist/checkpoint.pt --split test           # JSON on stdout
    python -m pixelcnn_lib.launch --nproc_per_node=4 train --dataset cifar10 --out runs/c10

Bad input (every number is checked by its option's type in options.py; unknown datasets,
missing data, a foreign checkpoint, contradictions, an unwritable --out) ends with one line on
stderr naming the option and the fix and exit status 2, before anything is written. Ctrl-C
during training saves a checkpoint and exits with status 130 (under torchrun: launch.py).
"""
import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from . import commands
from .checkpoints import CheckpointError
from .data import DatasetNotFoundError
from .options import (DATASETS, INTERRUPTED, PRESETS, USAGE_ERROR, UsageError, colour_levels,
                      decay, int_list, nonnegative_float, nonnegative_int, nonnegative_int_list,
                      odd_kernel, positive_float, positive_int)


def _version():
    try:
        return version("pixelcnn_lib")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line (argparse's own prints the whole usage first)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser():
    p = _Parser(prog="pixelcnn", description="Train, sample and evaluate PixelCNNs.")
    p.add_argument("--version", action="version", version=f"pixelcnn_lib {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{train,sample,evaluate}")

    t = sub.add_parser("train", help="train a gated PixelCNN on a dataset",
                       description="Train a gated PixelCNN. Writes OUT/checkpoint.pt, "
                                   "OUT/metrics.jsonl, OUT/loss.png and OUT/config.json. Names in "
                                   "'alias' are the original project's train.py options.")
    t.add_argument("--preset", choices=sorted(PRESETS),
                   help="a whole recipe: cpu = 32 channels x 8 layers, batch 8, lr 5e-3, EMA, "
                        "15,000 steps (about 25 min on a 2-core CPU); gpu = 64 x 12, batch 64, "
                        "10,000 steps. Options you type still win")
    d = t.add_argument_group("data")
    d.add_argument("--dataset", choices=sorted(DATASETS), help="default binarized-mnist")
    d.add_argument("--data-root", help="directory holding the dataset files "
                                       "(default: env PIXELCNN_DATA, else ~/.cache/pixelcnn_lib)")
    d.add_argument("--no-download", action="store_true",
                   help="never download; fail if files are missing")
    d.add_argument("--levels", "--color-levels", type=colour_levels,
                   help="colour levels per sub-pixel, 2..256 (default 256; 2 for binarized-mnist; "
                        "alias --color-levels)")
    d.add_argument("--binarization", choices=("threshold", "stochastic"),
                   help="with 2 levels: byte >= 128, or pixels drawn once ~ Bernoulli(intensity) "
                        "(default for binarized-mnist: stochastic, as published)")
    d.add_argument("--val-images", type=positive_int,
                   help="score only the first K validation images (default all 5,000)")
    m = t.add_argument_group("model (GatedPixelCNN)")
    m.add_argument("--classes", action=argparse.BooleanOptionalAction, default=None,
                   help="condition on the class label (default on)")
    m.add_argument("--hidden-channels", "--hidden-fmaps", type=positive_int,
                   help="channels of every gated block (default 64; alias --hidden-fmaps)")
    m.add_argument("--layers", type=positive_int,
                   help="layers: the causal block plus gated blocks (default 15)")
    m.add_argument("--hidden-layers", type=positive_int,
                   help="gated blocks after the causal block, as the original counts them: "
                        "--hidden-layers N is --layers N+1")
    m.add_argument("--kernel-size", "--hidden-ksize", type=odd_kernel,
                   help="hidden (gated block) kernel size, odd (default 3; alias --hidden-ksize)")
    m.add_argument("--causal-kernel-size", "--causal-ksize", type=odd_kernel,
                   help="first (causal) block kernel size, odd (default 7; alias --causal-ksize)")
    m.add_argument("--skip-channels", type=positive_int,
                   help="skip-path channels (default: hidden channels)")
    m.add_argument("--head-channels", "--out-hidden-fmaps", type=positive_int,
                   help="output head channels (default: skip channels; alias --out-hidden-fmaps)")
    m.add_argument("--dilations", type=int_list, help="one per gated block, e.g. 1,2,1,4,1,2,1 "
                                                      "(default 1 for every block)")
    o = t.add_argument_group("optimisation")
    o.add_argument("--epochs", type=positive_int, help="default 10")
    o.add_argument("--max-steps", type=positive_int, help="stop after this many optimizer steps")
    o.add_argument("--batch-size", type=positive_int,
                   help="global batch, shared by all torchrun processes (default 32)")
    o.add_argument("--lr", type=positive_float,
                   help="peak learning rate, warmup then cosine (default 1e-3)")
    o.add_argument("--weight-decay", type=nonnegative_float, help="AdamW weight decay (default 0)")
    o.add_argument("--max-grad-norm", "--max-norm", type=nonnegative_float,
                   help="gradient clipping norm, 0 = off (default 1.0; alias --max-norm)")
    o.add_argument("--warmup-steps", type=nonnegative_int,
                   help="default: 10%% of the steps, at most 100")
    o.add_argument("--ema", type=decay, help="weight-average decay in [0, 1), 0 = off "
                                             "(default 0.999)")
    o.add_argument("--no-ema", action="store_true", help="keep no weight average (= --ema 0)")
    o.add_argument("--seed", type=nonnegative_int,
                   help="initialisation and batch order (default 0)")
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
    r.add_argument("--log-every", type=positive_int, help="steps per metrics line (default 50)")
    r.add_argument("--eval-every", type=positive_int,
                   help="also validate every N steps (default: at epoch ends)")
    r.add_argument("--checkpoint-every", type=positive_int,
                   help="also checkpoint every N steps (default: epoch ends)")
    r.add_argument("--max-minutes", type=positive_float,
                   help="wall-clock budget of the whole run (resumes included): the learning-rate "
                        "schedule is fitted to it and the run stops cleanly when it is spent")
    r.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="draw images from a checkpoint into a PNG grid and an .npy")
    s.add_argument("checkpoint", help="a checkpoint.pt written by pixelcnn train")
    s.add_argument("-n", "--n", type=positive_int,
                   help="number of images (default 16; with --labels/--per-class: from them)")
    s.add_argument("--labels", type=nonnegative_int_list,
                   help="one class label per image, e.g. 0,1,2 (class-conditional models)")
    s.add_argument("--per-class", type=positive_int,
                   help="K images of every class, one class per grid row")
    s.add_argument("--temperature", type=positive_float, default=1.0,
                   help="softmax temperature, > 0; below 1 is more conservative (default 1.0)")
    s.add_argument("--method", choices=("cached", "naive"), default="cached",
                   help="cached: the fast exact sampler; naive: one full forward pass per "
                        "sub-pixel (same distribution, far slower) (default cached)")
    s.add_argument("--seed", type=nonnegative_int, default=0,
                   help="random seed: the same seed draws the same images (default 0)")
    s.add_argument("--out", default="samples.png",
                   help="PNG grid; the levels go to the same name .npy (default samples.png)")
    s.add_argument("--shape", type=int_list, help="C,H,W (default: the training images' shape)")
    s.add_argument("--raw-weights", action="store_true",
                   help="use the raw weights, not the weight average (default: the average)")
    s.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the fastest present)")

    e = sub.add_parser("evaluate", help="test bits/dim and nats/image of a checkpoint, as JSON")
    e.add_argument("checkpoint", help="a checkpoint.pt written by pixelcnn train")
    e.add_argument("--dataset", choices=sorted(DATASETS), help="default: the one it was trained on")
    e.add_argument("--split", choices=("train", "val", "test"), default="test",
                   help="which split to score (default test)")
    e.add_argument("--data-root", help="directory holding the dataset files "
                                       "(default: env PIXELCNN_DATA, else ~/.cache/pixelcnn_lib)")
    e.add_argument("--no-download", action="store_true",
                   help="never download; fail if files are missing")
    e.add_argument("--limit", type=positive_int, help="score only the first K images (default all)")
    e.add_argument("--batch-size", type=positive_int, default=256,
                   help="images per forward pass; changes speed, not the score (default 256)")
    e.add_argument("--raw-weights", action="store_true",
                   help="use the raw weights, not the weight average (default: the average)")
    e.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the fastest present)")
    p.commands = {"train": t, "sample": s, "evaluate": e}
    return p


def one_line(error):
    """The message of an error as one line, with the fix it names."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    if isinstance(error, DatasetNotFoundError):
        text = text.replace("(or pass root=...)", "or pass --data-root DIR holding them")
    return text


def main(argv=None):
    """Entry point of `python -m pixelcnn_lib` and the `pixelcnn` script; returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # point at the command's own --help, which lists its options
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
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
