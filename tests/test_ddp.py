"""`torchrun --nproc_per_node=2 ... train` (DistributedDataParallel, gloo on CPU) trains what one
process trains with the same global batch.

Tolerance: after 6 steps of a ~1,500-parameter model the two runs' weights differed by at most
3e-8 (measured, torch 2.14.1 CPU): only the order in which gradients are summed differs. The test
allows 1e-6 on weights and 1e-6 relative on bits/dim. Measured failure it catches: with sharding
switched off (each process training on the whole global batch) the weights were 8e-5 away after
6 steps (Adam almost cancels the doubled gradient) and the recorded train bits/dim doubled.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fake_mnist import write_fake_mnist
from pixelcnn_lib import cli
from pixelcnn_lib.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("torch_single_thread")


def test_two_gloo_processes_match_one_process_at_the_global_batch(tmp_path):
    data_root = write_fake_mnist(tmp_path / "data")
    # 64 images, global batch 15: slices of 8 + 7 images, and a last batch of 4 (2 + 2) per epoch
    args = ["train", "--dataset", "mnist", "--levels", "4", "--data-root", str(data_root), "--no-download",
            "--hidden-channels", "4", "--layers", "3", "--batch-size", "15", "--max-steps", "6",
            "--log-every", "2", "--val-images", "32", "--device", "cpu", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path), *args, "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert cli.main([*args, "--out", str(tmp_path / "one")]) == 0

    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert rank0.keys() == rank1.keys() and all(torch.equal(rank0[k], rank1[k]) for k in rank0)

    ddp, one = (load_checkpoint(tmp_path / run / "checkpoint.pt") for run in ("ddp", "one"))
    assert ddp["history"]["processes"] == 2 and one["history"]["processes"] == 1
    assert "over 2 processes" in done.stdout  # rank 0 alone printed the provenance line, once
    assert done.stdout.count("trained for") == 1
    for key, value in one["model_state"].items():
        assert torch.allclose(ddp["model_state"][key], value, rtol=0, atol=1e-6), key
        assert torch.allclose(ddp["ema_state"]["shadow"][key], one["ema_state"]["shadow"][key], rtol=0,
                              atol=1e-6), key
    assert all(torch.equal(rank0[k], ddp["ema_state"]["shadow"][k]) for k in rank0)  # ends on the EMA
    for a, b in zip(ddp["history"]["records"], one["history"]["records"]):
        assert a["step"] == b["step"]
        for k in ("train_bits_per_dim", "val_bits_per_dim", "val_ema_bits_per_dim"):
            assert (a.get(k) is None) == (b.get(k) is None)
            if a.get(k) is not None:
                assert a[k] == pytest.approx(b[k], rel=1e-6), k
    lines = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2, 4, 5, 6]  # one writer: no line twice


def test_ctrl_c_under_the_launcher_saves_and_exits_130(tmp_path):
    """`python -m pixelcnn_lib.launch --nproc_per_node=2 train ...` and a Ctrl-C to the terminal's
    process group: every worker stops at a log step, process 0 saves, the command exits 130 with
    no traceback (plain torchrun would print its own and exit 1)."""
    import signal
    import time
    data_root = write_fake_mnist(tmp_path / "data")
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pixelcnn_lib.launch", "--nproc_per_node=2", "train", "--dataset",
         "mnist", "--levels", "4", "--data-root", str(data_root), "--no-download",
         "--hidden-channels", "4", "--layers", "2", "--batch-size", "8", "--log-every", "2",
         "--val-images", "16", "--device", "cpu", "--quiet", "--epochs", "100000",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        start_new_session=True)
    try:
        metrics, deadline = out / "metrics.jsonl", time.monotonic() + 120
        while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, "training never started"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "interrupted after step" in err, err[-3000:]
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["history"]["stopped"] == "interrupted" and state["history"]["steps"] >= 4
