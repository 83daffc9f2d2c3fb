"""Checkpoints: one file that restores a model, its optimizer, its weight average and its run.

Files are written atomically and read weights-only onto the CPU, so a crash mid-save never
destroys the previous checkpoint and a GPU run opens on a laptop.
"""
from pathlib import Path

import torch

from .atomic import write_atomically
from .devices import pick_device
from .history import History
from .models import build_model

CHECKPOINT_FORMAT = "pixelcnn_lib/1"
# Trained weights that ship inside the package (so a Colab runtime, which installs only the
# library, has them too): chapter 6 trains them, chapter 7 samples from them.
SHIPPED_DIR = Path(__file__).resolve().parent / "weights"


def shipped_checkpoint(name="ch6_mnist.pt"):
    """Path of a checkpoint shipped with the library (pixelcnn_lib/weights/), or None if absent."""
    path = SHIPPED_DIR / name
    return path if path.is_file() else None


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable, truncated, foreign, or does not fit the model."""


def save_checkpoint(path, model, optimizer=None, epoch=0, history=None, extra=None, ema=None):
    """Write a checkpoint ATOMICALLY: temp file in the same directory, fsync, os.replace.

    An interrupted save leaves the previous checkpoint untouched and no temp file behind.
    `model_state` holds the raw (trained) weights; with `ema` (an EMA), `ema_state` holds the
    weight average beside them.
    """
    path = Path(path)
    if isinstance(history, History):
        history = history.as_dict()
    state = {
        "format": CHECKPOINT_FORMAT,
        "model_class": type(model).__name__,
        "model_config": model.config,
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "epoch": int(epoch),
        "history": history,
        "ema_state": ema.state_dict() if ema is not None else None,
        "torch_version": str(torch.__version__),
        **(extra or {}),
    }
    write_atomically(path, lambda f: torch.save(state, f))
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint onto the CPU (GPU runs open on CPU machines), weights-only unpickling."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        text = str(e)
        detail = None
        if "WeightsUnpickler error:" in text:  # the reason follows, on the same line or the next ones
            after = text.split("WeightsUnpickler error:", 1)[1].strip().splitlines()
            detail = f"WeightsUnpickler error: {after[0].strip()}" if after else None
        if detail and "Unsupported operand" in detail:  # not a pickle at all: text, an image, noise
            raise CheckpointError(f"{path} is not a PyTorch checkpoint (not even a pickle); pass the "
                                  "checkpoint.pt that a training run wrote.") from e
        if detail:  # a complete pickle holding objects that weights-only loading refuses
            raise CheckpointError(f"checkpoint {path} holds Python objects that safe (weights-only) loading "
                                  f"refuses ({detail}); it was not written by save_checkpoint.") from e
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckpointError(
            f"checkpoint {path} could not be read ({type(e).__name__}: {first}). It is probably truncated "
            "(an interrupted copy or download) or not a PyTorch file; delete it and train again, "
            "or copy it again.") from e
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = (f"format {state.get('format')!r}" if isinstance(state, dict) and "format" in state
                 else f"a {type(state).__name__}" + (" without a 'format' key" if isinstance(state, dict) else ""))
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint (found {found}); "
                              "write checkpoints with pixelcnn_lib.training.save_checkpoint.")
    return state


def load_model(path, device=None, ema=True):
    """Rebuild the model a checkpoint was saved from, with its weights, in eval mode.

    ema=True (default) loads the weight average when the checkpoint holds one, else the raw
    weights; ema=False always loads the raw weights. `model.checkpoint_weights` says which.
    """
    model = model_from_state(load_checkpoint(path), ema)
    return model.to(device if device is not None else pick_device()).eval()


def model_from_state(state, ema=True):
    """The model of a loaded checkpoint (see load_model), on the CPU."""
    model = build_model(state["model_class"], state["model_config"])
    model.load_state_dict(state["model_state"])
    # a shipped checkpoint holds one set of weights: the one chosen on validation (ship_model.py)
    model.checkpoint_weights = (state.get("shipped_weights") or {}).get("chosen", "raw")
    if ema and state.get("ema_state"):
        model.load_state_dict(state["ema_state"]["shadow"])
        model.checkpoint_weights = "ema"
    return model


def check_same_model(state, model, path):
    """Raise CheckpointError unless the checkpoint was saved from a model built like `model`."""
    if state["model_class"] != type(model).__name__ or state["model_config"] != model.config:
        raise CheckpointError(
            f"checkpoint {path} holds a {state['model_class']} with config {state['model_config']}, "
            f"not this {type(model).__name__} with {model.config}; delete it or pass resume=False.")


def restore_training(path, model, optimizer, scaler, averager, history, config):
    """Load a training checkpoint into model, optimizer, GradScaler and EMA, after checking it fits.

    Returns (history so far, position dict) for train() to continue from. `config` holds what
    must match for the continuation to be exact (batch size, seed, dataset size).
    """
    state = load_checkpoint(path)
    check_same_model(state, model, path)
    saved = state.get("train_config") or config
    for key in config:
        if saved.get(key, config[key]) != config[key]:
            raise CheckpointError(
                f"checkpoint {path} was trained with {key}={saved[key]}, not {config[key]}: pass the same "
                f"{key} to continue it exactly, or resume=False to start over.")
    model.load_state_dict(state["model_state"])
    if state["optimizer_state"] is not None:
        optimizer.load_state_dict(state["optimizer_state"])
    if state.get("scaler_state"):
        scaler.load_state_dict(state["scaler_state"])
    if averager is not None and state.get("ema_state"):
        averager.load_state_dict(state["ema_state"])
    old = History.from_dict(state["history"])
    for key in ("device", "torch_version", "profile", "amp", "processes", "ema", "steps_per_epoch"):
        setattr(old, key, getattr(history, key))  # this session's hardware and settings
    old.stopped, old.final = "", None  # the run goes on: how it ended is no longer its end
    return old, state.get("position") or {"epoch": state["epoch"]}
