"""What `pixelcnn train|sample|evaluate` do (the options are defined in cli.py).

Every check that can fail on bad input runs before the first file is written.
"""
import copy
import json
import math
import signal
import sys
import time
from pathlib import Path

import torch

from . import distributed
from .atomic import write_array, write_figure, write_image_grid, write_text
from .checkpoints import CheckpointError, check_same_model, load_checkpoint, model_from_state
from .data import load_dataset, subset
from .history import describe_run, duration_text, plot_history
from .options import (DATASETS, INTERRUPTED, PRESETS, RESUMABLE_CHANGES, TRAIN_DEFAULTS,
                      UsageError, check_writable, device_from)


# ----------------------------------------------------------------------------- train

def train(args):
    from .models import GatedPixelCNN, count_parameters
    from .training import TrainingInterrupted, train as train_model
    out = Path(args.out)
    checkpoint = out / "checkpoint.pt"
    if checkpoint.exists() and not args.resume:
        raise UsageError(f"{out} already holds a run ({checkpoint.name}); add --resume to continue it, "
                         "or choose another --out.")
    if args.resume and not checkpoint.exists():
        raise UsageError(f"--resume: no run in {out} to resume (no {checkpoint.name}); drop "
                         "--resume to start a new run there.")
    check_writable(out)
    s = _train_settings(args, out)
    if distributed.launched_by_torchrun():
        device = distributed.setup(device_from(args.device) if args.device else None)
    else:
        device = device_from(args.device)
    rank, world_size = distributed.world()
    try:
        name = DATASETS[s["dataset"]][0]
        train_data = _load(name, "train", s["levels"], s["binarization"], args)
        val_data = _load(name, "val", s["levels"], s["binarization"], args)
        if s["val_images"]:
            val_data = subset(val_data, s["val_images"])
        _check_model_fits(s, train_data.shape)
        torch.manual_seed(s["seed"])
        model = GatedPixelCNN(
            train_data.shape[0], s["levels"], s["hidden_channels"], s["layers"],
            n_classes=10 if s["classes"] else None, kernel_size=s["kernel_size"],
            causal_kernel_size=s["causal_kernel_size"], skip_channels=s["skip_channels"],
            head_channels=s["head_channels"], dilations=s["dilations"])
        records = []
        if checkpoint.exists():
            records = _check_resumable(checkpoint, model, s, len(train_data))
        main = rank == 0
        if main:  # every check passed: now, and only now, write
            out.mkdir(parents=True, exist_ok=True)
            write_text(out / "config.json", json.dumps({"settings": s}, indent=2) + "\n")
            write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in records))
            print(f"training a GatedPixelCNN ({count_parameters(model):,} parameters) on "
                  f"{s['dataset']} ({len(train_data):,} images, batch {s['batch_size']}, "
                  f"{world_size} process(es)); writing to {out}", file=sys.stderr)
            if device.type == "cpu" and not args.preset and not records:
                _estimate_cpu_time(model, train_data, s, args.max_minutes)

        def log(record):
            with open(out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
        status = 0
        # stop cleanly when told to (torchrun, job schedulers), as on Ctrl-C
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            history = train_model(
                model, train_data, val_data, epochs=s["epochs"], max_steps=s["max_steps"],
                batch_size=s["batch_size"], lr=s["lr"], weight_decay=s["weight_decay"],
                clip_grad=s["max_grad_norm"], warmup_steps=s["warmup_steps"], device=device,
                checkpoint=checkpoint, resume=True, progress=main and not args.quiet, seed=s["seed"],
                log_every=s["log_every"], eval_every=s["eval_every"], ema=s["ema"] or None,
                checkpoint_every=args.checkpoint_every, max_minutes=args.max_minutes, amp=args.amp,
                compile=args.compile, on_log=log)
        except TrainingInterrupted as e:
            history, status = e.history, INTERRUPTED
    finally:
        distributed.cleanup()
    if main:
        write_figure(out / "loss.png", plot_history(history, title=f"{s['dataset']}: {history.model}"))
        print(describe_run(history, show_profile=False))
        if status == INTERRUPTED or history.stopped:
            why = "interrupted" if status == INTERRUPTED else "stopped at the --max-minutes budget"
            print(f"{why} after step {history.steps:,}; {checkpoint} saved. Continue with: "
                  f"pixelcnn train --out {out} --resume", file=sys.stderr)
    return status


def _train_settings(args, out):
    """The run's settings: defaults < the run's saved config.json (with --resume) < typed options."""
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k, None) is not None}
    if args.no_ema:
        if given.get("ema"):
            raise UsageError(f"--ema {given['ema']:g} and --no-ema contradict each other: keep one.")
        given["ema"] = 0.0
    if args.hidden_layers is not None:  # the original project counts the gated blocks only
        if "layers" in given and given["layers"] != args.hidden_layers + 1:
            raise UsageError(f"--layers {given['layers']} and --hidden-layers {args.hidden_layers} "
                             f"disagree (--hidden-layers N means --layers N+1): keep one.")
        given["layers"] = args.hidden_layers + 1
    preset = PRESETS[args.preset] if args.preset else {}
    saved = {}
    config = out / "config.json"
    if args.resume and config.exists():
        saved = json.loads(config.read_text())["settings"]
        clash = [k for k, v in given.items()
                 if k in saved and saved[k] != v and k not in RESUMABLE_CHANGES]
        if clash:
            was = ", ".join(f"--{k.replace('_', '-')} {saved[k]}" for k in clash)
            raise UsageError(f"--resume continues {out} as configured ({was}); drop the differing "
                             "options, or choose another --out to start a new run.")
    s = {**TRAIN_DEFAULTS, **preset, **saved, **given}
    _, default_levels, default_binarization = DATASETS[s["dataset"]]
    s["levels"] = s["levels"] or default_levels
    if s["dataset"] == "binarized-mnist" and s["levels"] != 2:
        raise UsageError(f"binarized-mnist has 2 levels, not {s['levels']}; drop --levels or use "
                         "--dataset mnist.")
    if s["levels"] != 2 and s["binarization"]:
        raise UsageError("--binarization only applies to 2 levels: add --levels 2 or drop "
                         "--binarization.")
    if s["levels"] == 2:
        s["binarization"] = s["binarization"] or default_binarization or "threshold"
    return s


def _check_model_fits(s, shape):
    """Refuse settings that build a model that cannot run, naming the option to change."""
    blocks = s["layers"] - 1
    if s["dilations"] is not None and len(s["dilations"]) != blocks:
        raise UsageError(f"--dilations gives {len(s['dilations'])} values but --layers "
                         f"{s['layers']} has {blocks} gated blocks: give one per block.")
    if s["causal_kernel_size"] // 2 >= max(shape[1:]):
        raise UsageError(f"--causal-kernel-size {s['causal_kernel_size']} is wider than the "
                         f"{shape[1]}x{shape[2]} images: use a smaller odd size.")


def _estimate_cpu_time(model, train_data, s, max_minutes):
    """Time one short training step on a copy of the model (random state untouched) and say how
    long the whole run would take here, suggesting --preset cpu when that is long."""
    steps = math.ceil(len(train_data) / s["batch_size"]) * s["epochs"]
    steps = min(steps, s["max_steps"] or steps)
    probe = min(s["batch_size"], 4)
    with torch.random.fork_rng():
        twin = copy.deepcopy(model).train()
        x = train_data.images[:probe].long()
        y = train_data.labels[:probe] if twin.n_classes else None
        t0 = time.perf_counter()
        logits = twin(x, y)
        torch.nn.functional.cross_entropy(logits, x).backward()
        per_image = time.perf_counter() - t0
    seconds = per_image / probe * steps * s["batch_size"]
    budget = f"; --max-minutes {max_minutes:g} stops it sooner" if (
        max_minutes and max_minutes * 60 < seconds) else ""
    print(f"estimated training time on this CPU: {duration_text(seconds)} for {steps:,} steps "
          f"(timed on one {probe}-image step{budget}). "
          + ("For a CPU, --preset cpu is the book's CPU recipe: about 25 minutes on 2 cores."
             if seconds > 3600 else ""), file=sys.stderr)


def _check_resumable(checkpoint, model, s, n_train):
    """Refuse (exit 2, nothing written) a checkpoint that this command cannot continue exactly."""
    state = load_checkpoint(checkpoint)
    try:
        check_same_model(state, model, checkpoint)
    except CheckpointError:
        raise UsageError(f"{checkpoint} holds a {state['model_class']} built with "
                         f"{state['model_config']}, not the model these options build; resume with "
                         "the options it was trained with, or choose another --out.") from None
    saved = state.get("train_config") or {}
    for key, now in (("batch_size", s["batch_size"]), ("seed", s["seed"]), ("n_train", n_train)):
        if key in saved and saved[key] != now:
            flag = {"n_train": "--dataset/--data-root"}.get(key, "--" + key.replace("_", "-"))
            raise UsageError(f"{checkpoint} was trained with {key}={saved[key]}, not {now}; resume "
                             f"with the same {flag}, or choose another --out.")
    return (state.get("history") or {}).get("records", [])


# ----------------------------------------------------------------------------- sample

def sample(args):
    from .sampling import sample as draw_samples
    state = load_checkpoint(args.checkpoint)
    model = model_from_state(state, ema=not args.raw_weights)
    labels, nrow = _sample_labels(args, model)
    shape = args.shape or (state.get("data") or {}).get("shape")
    if not shape or len(shape) != 3:
        raise UsageError("this checkpoint does not record its image shape: pass --shape C,H,W, "
                         "e.g. 1,28,28.")
    n = len(labels) if labels is not None else (args.n or 16)
    png = Path(args.out)
    if png.suffix.lower() != ".png":
        raise UsageError(f"--out {png} must end in .png (the levels go to "
                         f"{png.with_suffix('.npy').name}).")
    check_writable(png.parent)
    device = device_from(args.device)
    model.to(device).eval()
    x = draw_samples(model, n, tuple(shape), labels.to(device) if labels is not None else None,
                     temperature=args.temperature, generator=args.seed, method=args.method,
                     progress=True)
    from torchvision.utils import make_grid
    import numpy as np
    grid = make_grid(x.float().cpu() / (model.color_levels - 1), nrow=nrow or math.ceil(math.sqrt(n)),
                     padding=2, pad_value=0.5)
    write_image_grid(png, grid)
    write_array(png.with_suffix(".npy"), x.cpu().numpy().astype(np.uint8))
    print(f"wrote {png} and {png.with_suffix('.npy')}: {n} images {list(shape)}, "
          f"{model.checkpoint_weights} weights, temperature {args.temperature:g}, seed {args.seed}, "
          f"{args.method} sampler")
    return 0


def _sample_labels(args, model):
    """(labels [n] or None, images per grid row or None) from --labels / --per-class / -n."""
    if args.labels and args.per_class:
        raise UsageError("pass --labels or --per-class, not both.")
    k = model.n_classes
    if k is None:
        if args.labels or args.per_class:
            raise UsageError("this model is unconditional: drop --labels/--per-class.")
        return None, None
    if args.n and (args.labels or args.per_class):
        raise UsageError("-n comes from --labels / --per-class when they are given: drop -n.")
    if args.labels:
        bad = [v for v in args.labels if not 0 <= v < k]
        if bad:
            raise UsageError(f"labels must lie in 0..{k - 1}, got {bad}.")
        return torch.tensor(args.labels), None
    if args.per_class:
        return torch.arange(k).repeat_interleave(args.per_class), args.per_class
    return torch.arange(args.n or 16) % k, None


# ----------------------------------------------------------------------------- evaluate

def evaluate(args):
    from .evaluation import evaluate as score
    state = load_checkpoint(args.checkpoint)
    model = model_from_state(state, ema=not args.raw_weights)
    info = state.get("data") or {}
    dataset = args.dataset or _cli_dataset(info)
    if dataset is None:
        raise UsageError("this checkpoint does not record its dataset: pass --dataset.")
    name, _, default_binarization = DATASETS[dataset]
    levels = model.color_levels
    if dataset == "binarized-mnist" and levels != 2:
        raise UsageError(f"the checkpoint models {levels} levels but binarized-mnist has 2; "
                         "evaluate it with --dataset mnist.")
    binarization = None
    if levels == 2:
        same = name == info.get("name") and info.get("binarization")
        binarization = info["binarization"] if same else default_binarization or "threshold"
    data = _load(name, args.split, levels, binarization, args)
    if data.shape[0] != model.in_channels:
        raise UsageError(f"the checkpoint's model reads {model.in_channels}-channel images but "
                         f"{dataset} has {data.shape[0]}; evaluate it on the dataset it was trained "
                         f"on ({info.get('name') or 'see its config.json'}).")
    if args.limit is not None:
        data = subset(data, args.limit)
    device = device_from(args.device)
    metrics = score(model.to(device), data, args.batch_size, device)
    dataset = _dataset_label(dataset, levels, binarization)
    print(json.dumps({"checkpoint": str(args.checkpoint), "dataset": dataset, "split": args.split,
                      "levels": levels, "binarization": binarization,
                      "weights": model.checkpoint_weights, **metrics, "device": str(device)}))
    return 0


def _cli_dataset(info):
    """The CLI name of the dataset a checkpoint was trained on, from its recorded data info."""
    name = info.get("name")
    if name == "mnist" and info.get("levels") == 2 and info.get("binarization") == "stochastic":
        return "binarized-mnist"
    return {"mnist": "mnist", "fashion_mnist": "fashion-mnist", "cifar10": "cifar10"}.get(name)


def _dataset_label(dataset, levels, binarization):
    """What a score was computed on, named as it is: 2-level data is named for its binarization."""
    if levels != 2 or dataset == "binarized-mnist":
        return dataset
    if dataset == "mnist" and binarization == "stochastic":
        return "binarized-mnist"
    return f"{dataset}, {binarization}-binarized"


# ----------------------------------------------------------------------------- shared

def _load(name, split, levels, binarization, args):
    kwargs = dict(levels=levels, root=args.data_root, download=not args.no_download)
    if binarization is not None:
        kwargs["binarization"] = binarization
    return load_dataset(name, split, **kwargs)
