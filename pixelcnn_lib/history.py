"""What a training run leaves behind for a chapter: its metrics, its provenance line, its loss curve.

`History.records` holds one dict per log step (train bits/dim over that log window, validation
bits/dim when it was evaluated, learning rate, images/s, wall time); `History.epochs` one dict
per finished epoch. `describe_run` turns a History into the sentence printed under a result.
"""
import math
from dataclasses import asdict, dataclass, field, fields


@dataclass
class History:
    """Everything a chapter needs to report a run: per-log-step and per-epoch metrics plus provenance."""
    epochs: list = field(default_factory=list)   # one dict per finished epoch
    records: list = field(default_factory=list)  # one dict per log step (see train's docstring)
    model: str = ""
    n_parameters: int = 0
    device: str = ""
    torch_version: str = ""
    profile: str = ""
    amp: str = "off"
    batch_size: int = 0        # images per optimizer step, summed over all processes
    processes: int = 1         # data-parallel processes (torchrun) that shared each batch
    steps: int = 0
    steps_per_epoch: int = 0
    images_seen: int = 0
    train_s: float = 0.0       # time spent in training steps (validation excluded)
    wall_s: float = 0.0
    ema: float = None          # EMA decay, None when no weight average was kept
    stopped: str = ""          # "", "time budget" or "interrupted": why training ended early
    final: dict = None         # an early stop's closing record (with validation), not in records
    rehearsal: bool = False    # trained under PIXELCNN_REHEARSE: capped, not a result

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
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})  # older/newer checkpoints load too


def duration_text(seconds):
    """A wall time as the provenance lines print it: '42.0 s', '20 min 47 s', '1 h 5 min'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def _epochs_text(h):
    """The true amount of data seen: "0.6 epochs", "1 epoch", "2.5 epochs"."""
    if not h.steps_per_epoch:  # a History saved before steps_per_epoch existed
        return f"{len(h.epochs)} epoch(s)"
    fraction = h.steps / h.steps_per_epoch
    if fraction == round(fraction):
        return f"{fraction:,.0f} epoch" + ("" if fraction == 1 else "s")
    return f"{fraction:.2g} epochs" if fraction < 1 else f"{fraction:,.1f} epochs"


def describe_run(history: History, test_metrics: dict = None, width: int = 78,
                 show_profile: bool = True) -> str:
    """One provenance paragraph for a chapter to print under its results, wrapped to `width`
    characters (78: what the book's code boxes hold; None: one line). `show_profile=False`
    leaves out the book's profile name (the command line has none).

    The train figure is the mean over the LAST log window (the model as it ended), not the
    average over the whole run, whose early steps would make it read worse than the test set.
    """
    text = _describe(history, test_metrics, show_profile)
    if history.rehearsal:
        from .rehearsal import NOTE
        text = f"{NOTE}. {text}"
    if width:
        import textwrap
        return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)
    return text


def _describe(history, test_metrics, show_profile=True):
    h = history
    if not h.epochs and not h.records and not h.final:
        return f"{h.model} ({h.n_parameters:,} parameters) has not been trained yet."
    if h.train_s > 0:
        ips = h.images_seen / h.train_s
    elif h.final:  # stopped before its first log step
        ips = h.final["images_per_s"]
    else:
        ips = sum(e["images_per_s"] for e in h.epochs) / len(h.epochs)
    batch = f"batch {h.batch_size}" + (f" over {h.processes} processes" if h.processes > 1 else "")
    text = (f"{h.model} with {h.n_parameters:,} parameters, trained for {_epochs_text(h)} "
            f"({h.steps:,} steps of {batch}) on {h.device} with PyTorch {h.torch_version}, "
            + (f"profile '{h.profile}', " if show_profile else "")
            + f"mixed precision {h.amp}: {ips:,.0f} images/s, "
            f"{duration_text(h.final['wall_s'] if h.final else h.wall_s)} wall time")
    if h.stopped:
        text += f" (stopped early: {h.stopped})"
    last = h.final or (h.records[-1] if h.records else None)
    if last is not None:
        text += (f". Train {last['train_bits_per_dim']:.4f} bits/dim (mean over the last "
                 f"{last['window_steps']:,} steps)")
    else:  # a History saved before per-step records existed
        text += f". Final-epoch train {h.epochs[-1]['train_bits_per_dim']:.4f} bits/dim"
    val = (h.final or {}).get("val_bits_per_dim") or _last_value(h, "val_bits_per_dim")
    if val is not None:
        text += f", validation {val:.4f} bits/dim"
        ema_val = (h.final or {}).get("val_ema_bits_per_dim") or _last_value(
            h, "val_ema_bits_per_dim")
        if ema_val is not None:
            text += f" ({ema_val:.4f} with the weight average, EMA {h.ema:g})"
    if test_metrics:
        text += (f"; test {test_metrics['bits_per_dim']:.4f} bits/dim "
                 f"({test_metrics['nats_per_image']:.2f} nats/image over {test_metrics['n_images']:,} images)")
    return text + "."


def _last_value(h, key):
    for row in reversed(h.records or h.epochs):
        if row.get(key) is not None:
            return row[key]
    return None


def plot_history(history, title=None):
    """Train and validation bits/dim against optimizer steps, as a matplotlib Figure.

    Train points are means over each log window; validation is drawn where it was evaluated
    (with the EMA weights too when the run kept an average). 7 x 3 inches at 100 dpi with
    10-point text: legible when shown 690 pixels wide.
    """
    import matplotlib.pyplot as plt
    h = History.from_dict(history) if isinstance(history, dict) else history
    with plt.rc_context({"font.size": 10, "axes.titlesize": 11, "legend.fontsize": 9}):
        fig, ax = plt.subplots(figsize=(7, 3), dpi=100, layout="constrained")
        if h.records:
            rows, x_label = h.records, "optimizer step"
            x = [r["step"] for r in rows]
        else:  # per-epoch history
            rows, x_label = h.epochs, "epoch"
            x = [r["epoch"] for r in rows]
        ax.plot(x, [r["train_bits_per_dim"] for r in rows], "-", color="#0072B2", lw=1.5,
                label="train (mean over each log window)" if h.records else "train (epoch mean)")
        for key, style, color, label in (("val_bits_per_dim", "o--", "#D55E00", "validation"),
                                         ("val_ema_bits_per_dim", "s:", "#009E73", "validation, EMA weights")):
            pts = [(xi, r[key]) for xi, r in zip(x, rows) if r.get(key) is not None]
            if pts:
                ax.plot(*zip(*pts), style, color=color, ms=4, label=label)
        ax.set_xlabel(x_label)
        ax.set_ylabel("bits / dim")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right")
        if title:
            ax.set_title(title)
    return fig


def bits_per_dim(nats, n_images, dims):
    """Mean bits per sub-pixel from summed nats over n_images images of `dims` sub-pixels each."""
    return nats / (n_images * dims * math.log(2))
