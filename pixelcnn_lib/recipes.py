"""Chapter 6's recipes, under the command line's option names, and what turns one into a run.

A recipe says everything needed to rebuild a run: the model, the arguments of `train`, and the
equivalent `pixelcnn train` command. `cpu` is the 25-minute recipe a reader can reproduce on a
2-core CPU; `long` is the same recipe given 105 minutes, the run that trained the model shipped
in weights/ch6_mnist.pt; `gpu` is an estimate until it has run on a GPU. The command line's
`--preset cpu|gpu` are these recipes (options.PRESETS). How `cpu` was chosen, on the validation
split: benchmarks/recipe_search.py and book/data/time_to_quality_search.json.
"""
import torch
import torch.nn.functional as F

from .models import GatedPixelCNN

COMMON = dict(dataset="mnist", classes=True, kernel_size=3, causal_kernel_size=7,
              weight_decay=0.0, max_grad_norm=1.0, seed=0, epochs=10)
RECIPES = dict(
    quick=dict(COMMON, hidden_channels=8, layers=4, skip_channels=8, head_channels=8,
               dilations=[1, 2, 1], batch_size=16, lr=2e-3, warmup_steps=5, ema=0.99,
               max_steps=30, max_minutes=2, log_every=5, eval_every=10, val_images=200),
    cpu=dict(COMMON, hidden_channels=32, layers=8, skip_channels=32, head_channels=32,
             dilations=[1, 2, 1, 4, 1, 2, 1], batch_size=8, lr=5e-3, warmup_steps=500,
             ema=0.999, max_steps=15_000, max_minutes=25, log_every=200, eval_every=2000,
             val_images=1000),
    gpu=dict(COMMON, hidden_channels=64, layers=12, skip_channels=64, head_channels=64,
             dilations=[1, 2, 1, 4, 1, 2, 1, 4, 1, 2, 1], batch_size=64, lr=1e-3,
             warmup_steps=200, ema=0.999, max_steps=10_000, max_minutes=15, log_every=100,
             eval_every=1000, val_images=None),
)
# The shipped model: the cpu recipe with a 105-minute budget that fits the schedule (the step
# cap is never reached, so the cosine runs over the time).
RECIPES["long"] = dict(RECIPES["cpu"], epochs=20, max_steps=1_000_000, max_minutes=105,
                       log_every=500, eval_every=5000)


def build(recipe):
    """The GatedPixelCNN a recipe describes (the command line builds the same model)."""
    return GatedPixelCNN(1, 256, recipe["hidden_channels"], recipe["layers"],
                         n_classes=10 if recipe["classes"] else None,
                         kernel_size=recipe["kernel_size"],
                         causal_kernel_size=recipe["causal_kernel_size"],
                         skip_channels=recipe["skip_channels"],
                         head_channels=recipe["head_channels"], dilations=recipe["dilations"])


def train_recipe(model, recipe, train_data, val_data, progress=True):
    """train() with a recipe's settings and its wall-clock budget."""
    from .training import train
    r = recipe
    return train(model, train_data, val_data, epochs=r["epochs"], max_steps=r["max_steps"],
                 batch_size=r["batch_size"], lr=r["lr"], weight_decay=r["weight_decay"],
                 clip_grad=r["max_grad_norm"], warmup_steps=r["warmup_steps"], ema=r["ema"],
                 seed=r["seed"], log_every=r["log_every"], eval_every=r["eval_every"],
                 max_minutes=r["max_minutes"], progress=progress)


def command_line(recipe, out="runs/ch6_mnist", width=78):
    """The `python -m pixelcnn_lib train` command of a recipe, wrapped for a shell."""
    words = ["python -m pixelcnn_lib train"]
    for key, value in recipe.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list):
            words.append(f"{flag} {','.join(map(str, value))}")
        elif isinstance(value, float):
            words.append(f"{flag} {value:g}")
        elif value is not None:
            words.append(f"{flag} {value}")
    lines = [""]
    for word in words + [f"--out {out}"]:
        if lines[-1] and len(lines[-1]) + len(word) + 3 > width:
            lines[-1] += " \\"
            lines.append("    ")
        lines[-1] += ("" if lines[-1].strip() == "" else " ") + word
    return "\n".join(lines)


def train_flops_per_image(recipe):
    """FLOPs of one training step on one 28x28 image, forward and backward, as counted by
    torch.utils.flop_counter (a multiply-add counts as 2 FLOPs)."""
    from torch.utils.flop_counter import FlopCounterMode
    model, x = build(recipe), torch.randint(0, 256, (1, 1, 28, 28))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x, torch.tensor([0])), x).backward()
    return counter.get_total_flops()


def check_trained_with(state, recipe, path="the checkpoint"):
    """Raise ValueError unless a checkpoint's model and settings are the recipe's."""
    expected = build(recipe).config
    if state["model_config"] != expected:
        raise ValueError(f"{path} holds a model built with {state['model_config']}, not with "
                         f"this recipe ({expected}).")
    settings = state.get("run_settings") or {}
    keys = ("dataset", "batch_size", "lr", "warmup_steps", "ema", "seed", "weight_decay",
            "max_grad_norm", "epochs", "max_steps")  # the model is checked above, whole
    differ = {k: (settings[k], recipe[k]) for k in keys if k in settings and settings[k] != recipe[k]}
    if differ:
        raise ValueError(f"{path} was trained with other settings than the recipe's: "
                         + ", ".join(f"{k}={a!r}, not {b!r}" for k, (a, b) in differ.items()))
