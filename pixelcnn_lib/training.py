"""Training, evaluation and checkpoints: one explicit loop, sized by a profile, honest bits/dim.

bits/dim is always computed from SUMMED log-likelihoods: total nats over every sub-pixel,
divided once by (sub-pixels x ln 2). The loop keeps the dataset on the device as uint8, steps
the learning rate every batch, and syncs with the host only every `log_every` steps.
"""
import math
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data import ImageData
from .models import build_model, count_parameters

PROFILES = ("quick", "cpu", "gpu")
CHECKPOINT_FORMAT = "pixelcnn_lib/1"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: training stops instead of silently producing garbage."""


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable, truncated, foreign, or does not fit the model."""


# ----------------------------------------------------------------------------- device & profile

def pick_device() -> torch.device:
    """The fastest device present: CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def amp_dtype(device) -> torch.dtype | None:
    """Autocast dtype: bf16 on GPUs with native bf16 (compute capability >= 8), fp16 (+ GradScaler)
    on older GPUs such as Colab's T4, None (full fp32) on CPU and MPS."""
    device = torch.device(device)
    if device.type != "cuda":
        return None
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def amp_name(dtype) -> str:
    return {torch.bfloat16: "bf16", torch.float16: "fp16+GradScaler"}.get(dtype, "off")


def device_name(device) -> str:
    """Human-readable hardware name for provenance lines."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            processor = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU ({processor}, {torch.get_num_threads()} threads)"


def current_profile() -> str:
    """env PIXELCNN_PROFILE if set, else "gpu" when CUDA/MPS is present, else "cpu"."""
    env = os.environ.get("PIXELCNN_PROFILE", "").strip()
    if env:
        if env.lower() not in PROFILES:
            raise ValueError(f"PIXELCNN_PROFILE={env!r} is not a profile; valid names: {', '.join(PROFILES)}.")
        return env.lower()
    return "cpu" if pick_device().type == "cpu" else "gpu"


def by_profile(*, quick, cpu, gpu, profile=None):
    """The value for the current (or given) profile: chapters size their runs with this."""
    profile = profile or current_profile()
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid names: {', '.join(PROFILES)}.")
    return {"quick": quick, "cpu": cpu, "gpu": gpu}[profile]


# ----------------------------------------------------------------------------- data plumbing

def _tensors(data):
    """(images, labels or None) from an ImageData or a bare image tensor."""
    if isinstance(data, ImageData):
        return data.images, data.labels
    if isinstance(data, torch.Tensor):
        return data, None
    raise TypeError(f"expected ImageData or an image tensor, got {type(data).__name__}.")


def check_data(model, data, what="data"):
    """Validate a whole dataset ONCE (dtype, shape, value range, labels) so batches can skip checks."""
    images, labels = _tensors(data)
    if isinstance(data, ImageData) and data.levels != model.color_levels:
        raise ValueError(f"{what} was quantised to {data.levels} levels but the model has "
                         f"color_levels={model.color_levels}; load it with levels={model.color_levels}.")
    if images.is_floating_point() or images.dtype == torch.bool:
        raise TypeError(f"{what} images must be integer levels (uint8), got {images.dtype}; use data.quantize.")
    if len(images) == 0:
        raise ValueError(f"{what} is empty.")
    if model.n_classes and labels is None:
        raise ValueError(f"the model is class-conditional (n_classes={model.n_classes}): {what} needs labels.")
    y = labels[:2] if model.n_classes else None
    model.check_input(images[:2].long(), y)  # shape, channels, label dtype
    lo, hi = int(images.min()), int(images.max())
    if lo < 0 or hi >= model.color_levels:
        raise ValueError(f"{what} has values in [{lo}, {hi}], outside [0, {model.color_levels - 1}].")
    if model.n_classes and (int(labels.min()) < 0 or int(labels.max()) >= model.n_classes):
        raise ValueError(f"{what} labels lie in [{int(labels.min())}, {int(labels.max())}], "
                         f"outside [0, {model.n_classes - 1}].")
    if model.n_classes and labels.shape != (len(images),):
        raise ValueError(f"{what} needs one label per image: {len(images)} images, labels {list(labels.shape)}.")


def _model_device(model):
    return next(model.parameters()).device


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model, data, batch_size=256, device=None) -> dict:
    """Test likelihood from summed log-likelihoods, in fp32, eval mode (train mode restored after).

    bits_per_dim = total nats / (N * C * H * W * ln 2); nats_per_image = total nats / N (the
    number quoted for binarized MNIST).
    """
    check_data(model, data)
    device = torch.device(device) if device is not None else _model_device(model)
    model.to(device)
    images, labels = _tensors(data)
    was_training = model.training
    model.eval()
    try:
        total = torch.zeros((), dtype=torch.float64, device=device)
        for i in range(0, len(images), batch_size):
            x = images[i:i + batch_size].to(device).long()
            y = labels[i:i + batch_size].to(device) if model.n_classes else None
            logits = model(x, y, check=False)
            total += F.cross_entropy(logits.float(), x, reduction="sum").double()
        total = total.item()
    finally:
        model.train(was_training)
    n = len(images)
    return {"bits_per_dim": total / (images[0].numel() * n * math.log(2)),
            "nats_per_image": total / n, "n_images": n}


# ----------------------------------------------------------------------------- history

@dataclass
class History:
    """Everything a chapter needs to report a run: per-epoch metrics plus provenance."""
    epochs: list = field(default_factory=list)  # one dict per finished epoch
    model: str = ""
    n_parameters: int = 0
    device: str = ""
    torch_version: str = ""
    profile: str = ""
    amp: str = "off"
    batch_size: int = 0
    steps: int = 0
    wall_s: float = 0.0

    @property
    def train_bits_per_dim(self):
        return [e["train_bits_per_dim"] for e in self.epochs]

    @property
    def val_bits_per_dim(self):
        return [e["val_bits_per_dim"] for e in self.epochs]

    @property
    def images_per_s(self):
        return [e["images_per_s"] for e in self.epochs]

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


def _duration(seconds):
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def describe_run(history: History, test_metrics: dict = None) -> str:
    """One provenance paragraph for a chapter to print under its results."""
    h = history
    if not h.epochs:
        return f"{h.model} ({h.n_parameters:,} parameters) has not been trained yet."
    ips = sum(e["images_per_s"] for e in h.epochs) / len(h.epochs)
    text = (f"{h.model} with {h.n_parameters:,} parameters, trained for {len(h.epochs)} epoch(s) "
            f"({h.steps:,} steps of batch {h.batch_size}) on {h.device} with PyTorch {h.torch_version}, "
            f"profile '{h.profile}', mixed precision {h.amp}: {ips:,.0f} images/s, "
            f"{_duration(h.wall_s)} wall time. Final train {h.epochs[-1]['train_bits_per_dim']:.4f} bits/dim")
    if h.epochs[-1].get("val_bits_per_dim") is not None:
        text += f", validation {h.epochs[-1]['val_bits_per_dim']:.4f} bits/dim"
    if test_metrics:
        text += (f"; test {test_metrics['bits_per_dim']:.4f} bits/dim "
                 f"({test_metrics['nats_per_image']:.2f} nats/image over {test_metrics['n_images']:,} images)")
    return text + "."


# ----------------------------------------------------------------------------- checkpoints

def save_checkpoint(path, model, optimizer=None, epoch=0, history=None, extra=None):
    """Write a checkpoint ATOMICALLY: temp file in the same directory, fsync, os.replace.

    An interrupted save leaves the previous checkpoint untouched and no temp file behind.
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
        "torch_version": str(torch.__version__),
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint onto the CPU (GPU runs open on CPU machines), weights-only unpickling."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        detail = next((line.strip() for line in str(e).splitlines() if "WeightsUnpickler error" in line), None)
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


def load_model(path, device=None):
    """Rebuild the model a checkpoint was saved from, with its weights, in eval mode."""
    state = load_checkpoint(path)
    model = build_model(state["model_class"], state["model_config"])
    model.load_state_dict(state["model_state"])
    return model.to(device if device is not None else pick_device()).eval()


# ----------------------------------------------------------------------------- training

def lr_at(step, total_steps, lr, warmup_steps):
    """Linear warmup reaching lr at step warmup_steps - 1, then cosine decay towards 0 at `total_steps`.

    Every step gets a new rate (none repeats at the warmup/cosine seam, none is exactly 0).
    """
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps + 1) / (total_steps - warmup_steps + 1))
    return lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def train(model, train_data, val_data=None, *, epochs=1, max_steps=None, batch_size=64, lr=1e-3,
          weight_decay=0.0, clip_grad=1.0, warmup_steps=None, device=None, checkpoint=None, resume=True,
          progress=True, seed=0, log_every=50, val_batch_size=256) -> History:
    """Train with AdamW, per-batch warmup+cosine LR, gradient clipping and mixed precision.

    The dataset lives on the device as uint8; batches are drawn by shuffled index (epoch e uses
    the permutation seeded by (seed, e), so a resumed run sees the same batches). `max_steps`
    caps the total optimizer steps (the last epoch may then be partial). With `checkpoint`, the
    state is saved atomically after every epoch, and `resume=True` continues from it.
    Raises TrainingDiverged if the loss turns NaN/inf.
    """
    device = torch.device(device) if device is not None else pick_device()
    check_data(model, train_data, "train_data")
    if val_data is not None:
        check_data(model, val_data, "val_data")
    model.to(device)
    images, labels = _tensors(train_data)
    images = images.to(device)  # uint8 on the device: 4x smaller than float, one copy per run
    labels = labels.to(device) if model.n_classes else None
    n, dims = len(images), images[0].numel()
    steps_per_epoch = math.ceil(n / batch_size)
    total_steps = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    warmup_steps = min(100, total_steps // 10) if warmup_steps is None else warmup_steps

    dtype = amp_dtype(device)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = History(model=type(model).__name__, n_parameters=count_parameters(model),
                      device=device_name(device), torch_version=str(torch.__version__),
                      profile=current_profile(), amp=amp_name(dtype), batch_size=batch_size)
    start_epoch = 0
    if checkpoint is not None and resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        if state["model_class"] != type(model).__name__ or state["model_config"] != model.config:
            raise CheckpointError(
                f"checkpoint {checkpoint} holds a {state['model_class']} with config {state['model_config']}, "
                f"not this {type(model).__name__} with {model.config}; delete it or pass resume=False.")
        model.load_state_dict(state["model_state"])
        if state["optimizer_state"] is not None:
            optimizer.load_state_dict(state["optimizer_state"])
        if state.get("scaler_state"):
            scaler.load_state_dict(state["scaler_state"])
        start_epoch = state["epoch"]
        old = History.from_dict(state["history"])
        old.device, old.torch_version, old.profile, old.amp = (history.device, history.torch_version,
                                                               history.profile, history.amp)
        history = old

    model.train()
    step = history.steps
    for epoch in range(start_epoch, epochs):
        if step >= total_steps:
            break
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g).to(device)
        total_nats = torch.zeros((), dtype=torch.float64, device=device)
        seen, epoch_steps = 0, 0
        bar = tqdm(total=min(steps_per_epoch, total_steps - step), desc=f"epoch {epoch + 1}/{epochs}",
                   disable=not progress, leave=False)
        for i in range(0, n, batch_size):
            if step >= total_steps:
                break
            idx = order[i:i + batch_size]
            x = images[idx].long()
            y = labels[idx] if labels is not None else None
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, lr, warmup_steps)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                logits = model(x, y, check=False)
            loss = F.cross_entropy(logits.float(), x)  # mean nats per sub-pixel
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if clip_grad:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            scaler.step(optimizer)
            scaler.update()
            total_nats += loss.detach().double() * x.numel()  # stays on the device: no sync
            seen += len(idx)
            step += 1
            epoch_steps += 1
            bar.update(1)
            if step % log_every == 0:  # the only host sync inside the epoch
                _check_finite(total_nats, epoch, step, lr)
                bar.set_postfix(bits_per_dim=f"{total_nats.item() / (seen * dims * math.log(2)):.4f}")
        bar.close()
        _check_finite(total_nats, epoch, step, lr)
        train_s = time.perf_counter() - t0
        record = {"epoch": epoch + 1, "steps": epoch_steps, "lr": optimizer.param_groups[0]["lr"],
                  "train_bits_per_dim": total_nats.item() / (seen * dims * math.log(2)),
                  "val_bits_per_dim": None, "images_per_s": seen / train_s, "train_s": train_s}
        if val_data is not None:
            record["val_bits_per_dim"] = evaluate(model, val_data, val_batch_size, device)["bits_per_dim"]
        record["epoch_s"] = time.perf_counter() - t0
        history.epochs.append(record)
        history.steps, history.wall_s = step, history.wall_s + record["epoch_s"]
        if progress:
            val = f", val {record['val_bits_per_dim']:.4f}" if val_data is not None else ""
            tqdm.write(f"epoch {epoch + 1}: train {record['train_bits_per_dim']:.4f} bits/dim{val}, "
                       f"{record['images_per_s']:,.0f} images/s")
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, epoch + 1, history,
                            extra={"scaler_state": scaler.state_dict() if scaler.is_enabled() else None})
    return history


def _check_finite(total_nats, epoch, step, lr):
    if not torch.isfinite(total_nats):
        raise TrainingDiverged(
            f"the loss became NaN/inf in epoch {epoch + 1} (by step {step}). Try a lower learning rate "
            f"(lr={lr:g} now), keep gradient clipping on (clip_grad=1.0), and check the data: integer "
            "levels in [0, color_levels) matching the model.")
