"""Where a run executes and how big it is: device choice, mixed precision, hardware names, profiles.

Chapters size their runs with `by_profile(quick=..., cpu=..., gpu=...)`; the profile comes from
env PIXELCNN_PROFILE, else from the hardware present.
"""
import os
import platform

import torch

PROFILES = ("quick", "cpu", "gpu")


def pick_device() -> torch.device:
    """The fastest device present: CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model) -> torch.device:
    """The device a model's weights live on."""
    return next(model.parameters()).device


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
