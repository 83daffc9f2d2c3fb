"""The training loop: one explicit loop, sized by a profile, honest bits/dim, exactly resumable.

The loop keeps the dataset on the device as uint8, steps the learning rate every batch, and
syncs with the host only at log steps. Device helpers, History, checkpoints, the weight average
and evaluation live in their own modules and are re-exported here, so
`from pixelcnn_lib.training import train, evaluate, load_model, ...` keeps working.
"""
import math
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import distributed, rehearsal
from .checkpoints import (CHECKPOINT_FORMAT, CheckpointError, check_same_model,  # noqa: F401
                          load_checkpoint, load_model, restore_training, save_checkpoint)
from .devices import (PROFILES, amp_dtype, amp_name, by_profile, current_profile,  # noqa: F401
                      device_name, pick_device)
from .ema import EMA
from .evaluation import as_tensors, check_data, evaluate  # noqa: F401
from .history import History, bits_per_dim, describe_run, plot_history  # noqa: F401
from .models import count_parameters


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: training stops instead of silently producing garbage."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training between two steps; `.history` holds the run so far (checkpoint saved)."""

    def __init__(self, history, checkpoint=None):
        where = f"; checkpoint {checkpoint} saved, resume to continue" if checkpoint else ""
        super().__init__(f"training interrupted after step {history.steps}{where}")
        self.history, self.checkpoint = history, checkpoint


WARMUP_TIME = 0.05  # with a wall-clock budget, warmup ends by 5% of it (as the recipe search)


def lr_at(step, total_steps, lr, warmup_steps, time_fraction=None):
    """Linear warmup reaching lr at step warmup_steps - 1, then cosine decay towards 0 at `total_steps`.

    Every step gets a new rate (none repeats at the warmup/cosine seam, none is exactly 0).
    `time_fraction` (the share of a wall-clock budget used so far) fits the schedule to the
    budget too: warmup and cosine follow whichever of steps and time runs out first, so a
    budget-stopped run ends annealed rather than at its peak rate.
    """
    warm = (step + 1) / warmup_steps if warmup_steps else 1.0
    if time_fraction is not None:
        warm = max(warm, time_fraction / WARMUP_TIME)
    if warm < 1:
        return lr * warm
    progress = min(1.0, (step - warmup_steps + 1) / (total_steps - warmup_steps + 1))
    if time_fraction is not None:
        progress = min(1.0, max(progress, time_fraction))
    return lr * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class _Position:
    """Where the loop stands inside the run: saved in every checkpoint so a resume is exact."""
    epoch: int = 0            # finished epochs
    epoch_step: int = 0       # steps done inside the current epoch
    epoch_nats: float = 0.0   # summed over the current epoch (all processes)
    epoch_images: int = 0
    epoch_train_s: float = 0.0
    epoch_wall0: float = 0.0  # run wall time when the epoch began
    window_nats: float = 0.0  # summed since the last record
    window_images: int = 0
    window_steps: int = 0
    window_train_s: float = 0.0


@contextmanager
def _stop_requests():
    """Turn Ctrl-C (and SIGTERM, where it already raises KeyboardInterrupt) into a flag the loop
    reads between steps, so it stops on a consistent state. Copies of the signal within a second
    (torchrun forwards the terminal's Ctrl-C to processes that got it already) count once; a
    second press after that interrupts at once."""
    requested = []
    previous = {}

    def request(signum, frame):
        if requested and time.monotonic() - requested[0] > 1.0:
            raise KeyboardInterrupt
        if not requested:
            requested.append(time.monotonic())
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is signal.default_int_handler:
                previous[sig] = signal.signal(sig, request)
    try:
        yield requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def train(model, train_data, val_data=None, *, epochs=1, max_steps=None, batch_size=64, lr=1e-3,
          weight_decay=0.0, clip_grad=1.0, warmup_steps=None, device=None, checkpoint=None, resume=True,
          progress=True, seed=0, log_every=50, val_batch_size=256, eval_every=None, ema=None,
          checkpoint_every=None, max_minutes=None, amp=True, compile=False, on_log=None,
          epoch_lines=True) -> History:
    """Train with AdamW, per-batch warmup+cosine LR, gradient clipping and mixed precision.

    Batches: epoch e uses the permutation seeded by (seed, e), so a resumed run sees the same
    batches. `batch_size` is the GLOBAL batch: under torchrun each of N processes takes a
    contiguous slice of it, so the result does not depend on N. `max_steps` caps the optimizer
    steps (the last epoch may then be partial).

    Metrics: every `log_every` steps, at each epoch end and at the last step, a record joins
    `history.records`: step, epoch (fractional), lr, train bits/dim over that log window, images/s,
    wall_s, and validation bits/dim when it was evaluated: at each epoch end, at the last step,
    and every `eval_every` steps if given (pass a small val subset to keep that cheap).
    `on_log(record)` is called with each record (main process only). With `progress`, a bar
    shows the steps and, with `epoch_lines`, one line per finished epoch is printed under it.

    Weight average: `ema=0.999` keeps an EMA of the weights (see pixelcnn_lib.ema, which also
    says what it measured: no gain after 500 steps with this schedule). When train() ends, the
    model holds the EMA weights; validation is recorded for both (key `val_ema_bits_per_dim`);
    the checkpoint keeps the raw weights plus the average.

    Mixed precision: `amp=True` uses the device's autocast dtype (bf16, or fp16 with a
    GradScaler on older GPUs such as a T4; none on CPU); "bf16" / "fp16" force one.

    Checkpoints (`checkpoint=path`): written atomically at every epoch end, every
    `checkpoint_every` steps, on Ctrl-C and at the `max_minutes` wall-clock budget (the whole run's,
    resumes included; the cosine is fitted to it, and a stopped run records a final validation
    score); `resume=True`
    continues from one exactly (same batches, LR step, running metrics and EMA). Ctrl-C stops
    between two steps, saves, and raises TrainingInterrupted; the budget stops and returns with
    `history.stopped` set. Raises TrainingDiverged if the loss turns NaN/inf.
    """
    _check_settings(epochs=epochs, max_steps=max_steps, batch_size=batch_size, lr=lr,
                    log_every=log_every, max_minutes=max_minutes, ema=ema)
    rank, world_size = distributed.world()
    device = torch.device(device) if device is not None else pick_device()
    check_data(model, train_data, "train_data")
    if val_data is not None:
        check_data(model, val_data, "val_data")
    model.to(device)
    images, labels = as_tensors(train_data)
    images = images.to(device)  # uint8 on the device: 4x smaller than float, one copy per run
    labels = labels.to(device) if model.n_classes else None
    n, dims = len(images), images[0].numel()
    steps_per_epoch = math.ceil(n / batch_size)
    total_steps = epochs * steps_per_epoch if max_steps is None else min(max_steps,
                                                                         epochs * steps_per_epoch)
    total_steps = rehearsal.cap_steps(total_steps)  # PIXELCNN_REHEARSE: a few steps only
    if val_data is not None:
        val_data = rehearsal.cap_images(val_data)
    warmup_steps = min(100, total_steps // 10) if warmup_steps is None else warmup_steps
    n_epochs = math.ceil(total_steps / steps_per_epoch)  # epochs this run touches
    config = dict(batch_size=batch_size, seed=seed, n_train=n)

    dtype = autocast_dtype(amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    averager = EMA(model, ema) if ema else None
    history = History(model=type(model).__name__, n_parameters=count_parameters(model),
                      device=device_name(device), torch_version=str(torch.__version__),
                      profile=current_profile(), amp=amp_name(dtype), batch_size=batch_size,
                      processes=world_size, steps_per_epoch=steps_per_epoch, ema=ema,
                      rehearsal=rehearsal.active())
    pos = _Position()
    if checkpoint is not None and resume and Path(checkpoint).exists():
        history, position = restore_training(checkpoint, model, optimizer, scaler, averager,
                                             history, config)
        pos = _Position(**position)

    net = model
    if world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(  # the last block's stack outputs feed
            model, device_ids=[device.index] if device.type == "cuda" else None,  # nothing: unused
            find_unused_parameters=True)
    forward = torch.compile(net) if compile else net
    data_info = {"name": getattr(train_data, "name", None), "levels": model.color_levels,
                 "shape": list(images.shape[1:]),
                 "binarization": getattr(train_data, "binarization", None)}

    def save():
        save_checkpoint(checkpoint, model, optimizer, pos.epoch, history, ema=averager, extra={
            "scaler_state": scaler.state_dict() if scaler.is_enabled() else None,
            "position": asdict(pos), "train_config": config, "data": data_info})

    def validate(record):
        record["val_bits_per_dim"] = distributed.evaluate_sharded(model, val_data, val_batch_size,
                                                                  device)
        if averager is not None:
            with averager.applied(model):
                record["val_ema_bits_per_dim"] = distributed.evaluate_sharded(
                    model, val_data, val_batch_size, device)

    def window_record(nats_sum, train_s):
        """The metrics of the current log window (no validation yet)."""
        return {"step": step, "epoch": round(step / steps_per_epoch, 4),
                "lr": optimizer.param_groups[0]["lr"],
                "train_bits_per_dim": bits_per_dim(nats_sum, pos.window_images, dims),
                "window_steps": pos.window_steps, "val_bits_per_dim": None,
                "images_per_s": pos.window_images / max(train_s, 1e-9)}

    main = rank == 0
    step = history.steps
    session_t0 = wall0 = time.perf_counter()
    wall_before = history.wall_s
    window_nats = torch.tensor(pos.window_nats, dtype=torch.float64, device=device)
    epoch_nats = torch.tensor(pos.epoch_nats, dtype=torch.float64, device=device)
    bar = tqdm(total=total_steps, initial=step, disable=not (progress and main), dynamic_ncols=True)
    model.train()
    order, stop = None, None
    try:
        with _stop_requests() as requested:
            while step < total_steps:
                if order is None or pos.epoch_step == 0:
                    g = torch.Generator().manual_seed(seed * 1_000_003 + pos.epoch)
                    order = torch.randperm(n, generator=g).to(device)
                    bar.set_description(f"epoch {pos.epoch + 1}/{n_epochs}")
                start = pos.epoch_step * batch_size
                batch = order[start:start + batch_size]
                idx = distributed.shard(batch, rank, world_size)
                x = images[idx].long()
                y = labels[idx] if labels is not None else None
                used = None
                if max_minutes is not None:  # the share of the budget spent, resumes included
                    used = (wall_before + time.perf_counter() - session_t0) / (60 * max_minutes)
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, total_steps, lr, warmup_steps, used)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    logits = forward(x, y, check=False)
                nats = F.cross_entropy(logits.float(), x, reduction="sum")
                # Each process divides by the GLOBAL batch's sub-pixels (times N, as DDP averages
                # gradients over N processes): the gradient is the mean over the global batch.
                loss = nats / (len(batch) * dims / world_size)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if clip_grad:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                scaler.step(optimizer)
                scaler.update()
                if averager is not None:
                    averager.update(model)
                step_nats = distributed.sum_over_processes(nats.detach().double())
                window_nats += step_nats  # stays on the device: no sync
                epoch_nats += step_nats
                step, pos.epoch_step = step + 1, pos.epoch_step + 1
                pos.window_steps += 1
                pos.window_images += len(batch)
                pos.epoch_images += len(batch)
                bar.update(1)

                epoch_done, last = pos.epoch_step == steps_per_epoch, step == total_steps
                is_record = step % log_every == 0 or epoch_done or last
                if is_record:  # the only host sync between steps
                    now = time.perf_counter()
                    pos.window_train_s += now - wall0
                    nats_sum = window_nats.item()
                    _check_finite(nats_sum, pos.epoch, step, lr)
                    record = window_record(nats_sum, pos.window_train_s)
                    due = epoch_done or last or (eval_every and step % eval_every == 0)
                    if val_data is not None and due:
                        validate(record)
                    history.steps, history.images_seen = step, history.images_seen + pos.window_images
                    history.train_s += pos.window_train_s
                    pos.epoch_train_s += pos.window_train_s
                    history.wall_s = record["wall_s"] = wall_before + time.perf_counter() - session_t0
                    history.records.append(record)
                    window_nats.zero_()
                    pos.window_images = pos.window_steps = 0
                    pos.window_train_s = 0.0
                    bar.set_postfix(bits_per_dim=f"{record['train_bits_per_dim']:.4f}",
                                    images_per_s=f"{record['images_per_s']:,.0f}")
                    if main and on_log is not None:
                        on_log(record)
                if epoch_done or last:
                    _finish_epoch(history, pos, epoch_nats, dims, record,
                                  progress and main and epoch_lines)
                    if epoch_done:
                        pos.epoch, pos.epoch_step, pos.epoch_wall0 = pos.epoch + 1, 0, history.wall_s
                        pos.epoch_images, pos.epoch_train_s = 0, 0.0
                        epoch_nats.zero_()
                if world_size == 1 or is_record:  # several processes must agree: decide at records
                    elapsed = wall_before + time.perf_counter() - session_t0
                    over = max_minutes is not None and elapsed > 60 * max_minutes and not last
                    interrupted, over = distributed.any_process([bool(requested), over and main],
                                                                device)
                    stop = "interrupted" if interrupted else "time budget" if over else None
                if stop:  # how the run ended, scored like a finished one (not one of the records,
                    # which a resume continues exactly as if never stopped)
                    final = dict(record) if is_record else window_record(
                        window_nats.item(), pos.window_train_s + time.perf_counter() - wall0)
                    if val_data is not None and final["val_bits_per_dim"] is None:
                        validate(final)
                    final["wall_s"] = wall_before + time.perf_counter() - session_t0
                    final["stopped"] = stop
                    history.final = final
                    if main and on_log is not None:
                        on_log(final)
                saving = checkpoint is not None and main and bool(
                    epoch_done or last or stop or (checkpoint_every and step % checkpoint_every == 0))
                if saving or stop:
                    history.steps, history.stopped = step, stop or ""
                if saving:
                    pos.window_nats, pos.epoch_nats = window_nats.item(), epoch_nats.item()
                    if not is_record:
                        pos.window_train_s += time.perf_counter() - wall0
                    save()
                if is_record or saving:
                    wall0 = time.perf_counter()  # validation and saving are not training time
                if stop:
                    break
    finally:
        bar.close()
        if averager is not None:
            averager.copy_to(model)  # the model ends holding the weight average
    if stop == "interrupted":
        raise TrainingInterrupted(history, checkpoint)
    return history


def autocast_dtype(amp, device):
    """The autocast dtype: amp=True picks the device's (devices.amp_dtype: bf16 on recent GPUs,
    fp16 + GradScaler on a T4, none on CPU); "bf16" or "fp16" force one on any device (CPU
    autocast runs both, so the GPU recipes' code paths can be tested without a GPU)."""
    if amp in ("bf16", "fp16"):
        return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]
    return amp_dtype(device) if amp else None


def _check_settings(*, epochs, max_steps, batch_size, lr, log_every, max_minutes, ema):
    """Refuse settings that would train nothing, or train wrongly, before any work is done."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("log_every", log_every),
                        ("max_steps", max_steps)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}.")
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError(f"max_minutes must be > 0 (a wall-clock budget), got {max_minutes!r}.")
    if ema is not None and not 0 <= ema < 1:
        raise ValueError(f"ema must be a decay in [0, 1), got {ema!r}.")


def _finish_epoch(history, pos, epoch_nats, dims, record, verbose):
    """Append the per-epoch summary (the epoch may be partial when max_steps ends it)."""
    images_seen = pos.epoch_images
    summary = {"epoch": pos.epoch + 1, "steps": pos.epoch_step,
               "lr": record["lr"],
               "train_bits_per_dim": bits_per_dim(epoch_nats.item(), images_seen, dims),
               "val_bits_per_dim": record.get("val_bits_per_dim"),
               "images_per_s": images_seen / max(pos.epoch_train_s, 1e-9),
               "train_s": pos.epoch_train_s, "epoch_s": history.wall_s - pos.epoch_wall0}
    if "val_ema_bits_per_dim" in record:
        summary["val_ema_bits_per_dim"] = record["val_ema_bits_per_dim"]
    history.epochs.append(summary)
    if verbose:
        val = summary["val_bits_per_dim"]
        val = f", val {val:.4f}" if val is not None else ""
        tqdm.write(f"epoch {summary['epoch']}: train {summary['train_bits_per_dim']:.4f} "
                   f"bits/dim{val}, {summary['images_per_s']:,.0f} images/s")


def _check_finite(total_nats, epoch, step, lr):
    if not math.isfinite(total_nats):
        raise TrainingDiverged(
            f"the loss became NaN/inf in epoch {epoch + 1} (by step {step}). Try a lower learning rate "
            f"(lr={lr:g} now), keep gradient clipping on (clip_grad=1.0), and check the data: integer "
            "levels in [0, color_levels) matching the model.")
