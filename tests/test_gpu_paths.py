"""The code paths a GPU run takes, executed on the CPU: a typo in a CUDA-only branch must fail here.

On a GPU the recipes train under autocast (bf16 on an H100/H200, fp16 with a GradScaler on a T4);
CPU autocast runs both dtypes and GradScaler("cpu") scales like the CUDA one, so `train(amp="fp16")`
and `train(amp="bf16")` run the same lines a GPU run does, and must still learn. `compile=True` runs
torch.compile (inductor builds C++ for the CPU). The rehearsal caps (pixelcnn_lib/rehearsal.py) are
what lets CI execute every chapter's gpu profile on a CPU.
"""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pixelcnn_lib import GatedPixelCNN, describe_run, evaluate, train
from pixelcnn_lib.checkpoints import load_checkpoint
from pixelcnn_lib.data import ImageData
from pixelcnn_lib.training import autocast_dtype

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("torch_single_thread")


@pytest.fixture
def stripes():
    """Learnable 6x6 images: vertical stripes of random phase, 4 levels."""
    g = torch.Generator().manual_seed(0)
    phase = torch.randint(0, 2, (64, 1, 1, 1), generator=g)
    cols = torch.arange(6).view(1, 1, 1, 6)
    images = (((cols + phase) % 2) * 3).expand(64, 1, 6, 6).to(torch.uint8).contiguous()
    return ImageData(images, torch.zeros(64, dtype=torch.long), 4, "stripes", "train")


def first_and_last(history):
    return history.records[0]["train_bits_per_dim"], history.records[-1]["train_bits_per_dim"]


def run(stripes, amp, checkpoint=None):
    torch.manual_seed(0)
    return train(GatedPixelCNN(1, 4, 8, 3), stripes, epochs=15, batch_size=16, lr=5e-3, amp=amp,
                 device="cpu", log_every=4, progress=False, checkpoint=checkpoint)


@pytest.mark.parametrize("amp, name", [("fp16", "fp16+GradScaler"), ("bf16", "bf16")])
def test_mixed_precision_paths_learn(stripes, amp, name, tmp_path):
    """60 steps halve the loss in full precision (2.12 -> 1.00 bits/dim measured); the mixed-
    precision paths must do the same, to within 0.05 bits/dim of the fp32 run."""
    history = run(stripes, amp, tmp_path / "run.pt")
    assert history.amp == name
    start, end = first_and_last(history)
    _, fp32_end = first_and_last(run(stripes, False))
    assert end < 0.6 * start and abs(end - fp32_end) < 0.05, (start, end, fp32_end)
    scaler = load_checkpoint(tmp_path / "run.pt")["scaler_state"]
    assert (scaler is not None) == (amp == "fp16")  # the T4 path keeps its GradScaler's state


def test_the_autocast_choice():
    assert autocast_dtype(True, "cpu") is None and autocast_dtype(False, "cpu") is None
    assert autocast_dtype("fp16", "cpu") == torch.float16
    assert autocast_dtype("bf16", "cpu") == torch.bfloat16


def test_torch_compile_path_trains(stripes):
    torch.manual_seed(0)
    model = GatedPixelCNN(1, 4, 4, 2)
    history = train(model, stripes, epochs=2, batch_size=16, lr=5e-3, compile=True,
                    device="cpu", log_every=2, progress=False)
    start, end = first_and_last(history)
    assert end < start


def test_rehearsal_caps_training_and_evaluation(stripes, monkeypatch):
    monkeypatch.setenv("PIXELCNN_REHEARSE", "1")
    model = GatedPixelCNN(1, 4, 4, 2)
    history = train(model, stripes, stripes, epochs=50, batch_size=4, device="cpu",
                    progress=False)
    assert history.steps == 3 and history.rehearsal
    assert evaluate(model, stripes)["n_images"] == 32
    assert describe_run(history).startswith("REHEARSAL")
    monkeypatch.delenv("PIXELCNN_REHEARSE")
    assert evaluate(model, stripes)["n_images"] == 64


def test_a_rehearsed_chapter_is_never_written_back():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "run_chapters.py"), "--profile",
                           "gpu", "--rehearse", "01"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert done.returncode == 2 and "never written back" in done.stderr, done.stderr
