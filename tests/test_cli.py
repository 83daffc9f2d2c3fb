"""The command line: train -> evaluate -> sample end to end, exact resume, Ctrl-C, bad input.

Runs on a fake 8x8 MNIST folder (tests/fake_mnist.py) with a ~1,000-parameter model, so every
training run is a few dozen milliseconds of compute; the subprocess tests mostly pay for
importing torch.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fake_mnist import SIZE, write_fake_mnist
from pixelcnn_lib import cli, commands
from pixelcnn_lib.checkpoints import load_checkpoint, load_model, save_checkpoint
from pixelcnn_lib.data import load_dataset
from pixelcnn_lib.evaluation import evaluate
from pixelcnn_lib.models import GatedPixelCNN

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("torch_single_thread")
TIMING = ("wall_s", "images_per_s")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return write_fake_mnist(tmp_path_factory.mktemp("data"))


def tiny(data_root, *extra):
    return ["train", "--dataset", "mnist", "--levels", "4", "--data-root", str(data_root), "--no-download",
            "--hidden-channels", "4", "--layers", "2", "--batch-size", "8", "--log-every", "2",
            "--val-images", "32", "--device", "cpu", "--quiet", *extra]


def run_cli(*args, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pixelcnn_lib", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def without_timing(records):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def test_train_evaluate_sample_end_to_end(data_root, tmp_path):
    out = tmp_path / "run"
    done = run_cli(*tiny(data_root, "--max-steps", "10", "--out", str(out)))
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == ["checkpoint.pt", "config.json", "loss.png", "metrics.jsonl"]
    assert "trained for 1.2 epochs (10 steps of batch 8)" in " ".join(done.stdout.split())  # wrapped; 64 images: 8 steps/epoch
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [2, 4, 6, 8, 10]
    for r in lines:
        assert {"step", "epoch", "lr", "train_bits_per_dim", "val_bits_per_dim", "images_per_s",
                "wall_s"} <= set(r)
    assert lines[3]["val_bits_per_dim"] is not None and lines[0]["val_bits_per_dim"] is None  # epoch end
    assert lines[-1]["val_ema_bits_per_dim"] is not None  # the CLI keeps a weight average by default
    assert lines == load_checkpoint(out / "checkpoint.pt")["history"]["records"]
    assert Image.open(out / "loss.png").size == (700, 300)

    ckpt = str(out / "checkpoint.pt")
    scored = run_cli("evaluate", ckpt, "--data-root", str(data_root), "--no-download", "--device", "cpu")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout)
    assert result["dataset"] == "mnist" and result["split"] == "test" and result["weights"] == "ema"
    test = load_dataset("mnist", "test", levels=4, root=data_root, download=False)
    expected = evaluate(load_model(ckpt, device="cpu"), test)
    assert result["bits_per_dim"] == pytest.approx(expected["bits_per_dim"], rel=1e-9)
    assert result["n_images"] == len(test) == 32

    png = tmp_path / "samples" / "grid.png"
    drawn = run_cli("sample", ckpt, "--per-class", "2", "--seed", "3", "--out", str(png), "--device", "cpu")
    assert drawn.returncode == 0, drawn.stderr
    images = np.load(png.with_suffix(".npy"))
    assert images.shape == (20, 1, SIZE, SIZE) and images.dtype == np.uint8 and images.max() <= 3
    assert Image.open(png).size == (2 * (SIZE + 2) + 2, 10 * (SIZE + 2) + 2)  # 2 per row, a row per class


def test_time_budget_stop_then_resume_equals_uninterrupted(data_root, tmp_path, capsys,
                                                          monkeypatch):
    """--max-minutes 1e-9 stops after the first step (mid log window, mid epoch); --resume then
    continues to bit-identical weights, weight average, optimizer state and metrics. (A budget
    also fits the learning-rate schedule to itself, tested below; here the schedule is held to
    the steps' one, so that the run can equal one without a budget.)"""
    from pixelcnn_lib import training
    args = tiny(data_root, "--max-steps", "11", "--checkpoint-every", "3")
    assert cli.main([*args, "--out", str(tmp_path / "full")]) == 0
    steps_only = training.lr_at
    monkeypatch.setattr(training, "lr_at", lambda step, total, lr, warmup, time_fraction=None:
                        steps_only(step, total, lr, warmup))
    assert cli.main([*args, "--out", str(tmp_path / "cut"), "--max-minutes", "1e-9"]) == 0
    monkeypatch.setattr(training, "lr_at", steps_only)
    assert "stopped at the --max-minutes budget after step 1" in capsys.readouterr().err
    cut = load_checkpoint(tmp_path / "cut" / "checkpoint.pt")
    assert cut["history"]["steps"] == 1 and cut["position"]["window_steps"] == 1
    assert cli.main(["train", "--out", str(tmp_path / "cut"), "--resume", "--data-root", str(data_root),
                     "--quiet"]) == 0  # every other setting comes from the run's config.json

    a, b = (load_checkpoint(tmp_path / run / "checkpoint.pt") for run in ("full", "cut"))
    for key in a["model_state"]:
        assert torch.equal(a["model_state"][key], b["model_state"][key]), key
        assert torch.equal(a["ema_state"]["shadow"][key], b["ema_state"]["shadow"][key]), key
    assert a["ema_state"]["n_updates"] == b["ema_state"]["n_updates"] == 11
    for pa, pb in zip(a["optimizer_state"]["state"].values(), b["optimizer_state"]["state"].values()):
        assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert without_timing(a["history"]["records"]) == without_timing(b["history"]["records"])
    metrics = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert without_timing(metrics) == without_timing(a["history"]["records"])  # no line twice


def test_ctrl_c_saves_a_checkpoint_and_exits_130(data_root, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "pixelcnn_lib",
                             *tiny(data_root, "--epochs", "100000", "--out", str(out))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        metrics = out / "metrics.jsonl"
        deadline = time.monotonic() + 90
        while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
            assert proc.poll() is None and time.monotonic() < deadline, "training never started"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted after step" in err and "--resume" in err and "Traceback" not in err
    state = load_checkpoint(out / "checkpoint.pt")
    steps, pos = state["history"]["steps"], state["position"]
    assert steps >= 4 and steps == pos["epoch"] * 8 + pos["epoch_step"] and state["history"]["stopped"] == "interrupted"
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    *logged, final = records  # the closing line says how the run ended, scored on validation
    assert logged == state["history"]["records"] and logged[-1]["step"] <= steps
    assert final == state["history"]["final"] and final["step"] == steps
    assert final["stopped"] == "interrupted" and final["val_bits_per_dim"] is not None
    assert load_model(out / "checkpoint.pt", device="cpu").checkpoint_weights == "ema"


def test_binarized_mnist_means_two_levels_stochastic_by_default(data_root, tmp_path, monkeypatch):
    calls = []
    real = commands.load_dataset

    def spy(name, split, *, binarization="threshold", **kw):
        calls.append((name, split, kw["levels"], binarization))
        return real(name, split, binarization=binarization, **kw)
    monkeypatch.setattr(commands, "load_dataset", spy)
    args = tiny(data_root, "--max-steps", "2")
    args[args.index("mnist")] = "binarized-mnist"
    del args[args.index("--levels"):args.index("--levels") + 2]
    assert cli.main([*args, "--out", str(tmp_path / "b")]) == 0
    assert calls == [("mnist", "train", 2, "stochastic"), ("mnist", "val", 2, "stochastic")]
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["data"]["binarization"] == "stochastic"
    calls.clear()
    assert cli.main(["evaluate", str(tmp_path / "b" / "checkpoint.pt"), "--data-root", str(data_root),
                     "--no-download", "--device", "cpu", "--limit", "4"]) == 0
    assert calls == [("mnist", "test", 2, "stochastic")]  # evaluated on the data it was trained on


def test_bad_input_exits_2_with_one_line_and_writes_nothing(data_root, tmp_path, capsys):
    def refused(argv, *phrases):
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        try:
            status = cli.main(argv)
        except SystemExit as e:  # argparse's own errors
            status = e.code
        err = capsys.readouterr().err
        assert status == 2 and len(err.strip().splitlines()) == 1, err
        for phrase in phrases:
            assert phrase in err, err
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written
        return err

    out = str(tmp_path / "new")
    refused([*tiny(data_root), "--out", out, "--dataset", "imagenet"], "invalid choice", "--help")
    refused([*tiny(tmp_path / "empty"), "--dataset", "cifar10", "--out", out], "cifar10 not found", "--data-root")
    refused([*tiny(data_root), "--kernel-size", "4", "--out", out], "--kernel-size/--hidden-ksize: must be odd", "use 3, 5 or 7")
    (tmp_path / "a_file").write_text("x")
    refused([*tiny(data_root), "--out", str(tmp_path / "a_file" / "run")], "is a file, not a directory")
    refused([*tiny(data_root), "--dilations", "1,2,4", "--out", out], "--dilations gives 3 values")
    refused([*tiny(data_root), "--device", "cuda:7" if not torch.cuda.is_available() else "tpu", "--out", out],
            "--device")

    run = tmp_path / "run"  # a run made with other options, then a foreign model's checkpoint
    assert cli.main([*tiny(data_root), "--max-steps", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    refused([*tiny(data_root), "--out", str(run)], "already holds a run", "--resume")
    refused([*tiny(data_root), "--hidden-channels", "8", "--out", str(run), "--resume"],
            "--hidden-channels 4", "choose another --out")
    (run / "config.json").unlink()
    save_checkpoint(run / "checkpoint.pt", GatedPixelCNN(1, 4, hidden_channels=6, n_layers=2))
    refused([*tiny(data_root), "--out", str(run), "--resume"], "not the model these options build")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    refused(["evaluate", str(tmp_path / "tensor.pt")], "not a pixelcnn_lib/1 checkpoint")
    refused(["evaluate", str(run / "checkpoint.pt"), "--dataset", "binarized-mnist"], "--dataset mnist")
    refused(["sample", str(run / "checkpoint.pt"), "--labels", "1"], "unconditional")
    refused(["sample", str(tmp_path / "missing.pt")], "does not exist")


def test_the_original_projects_option_names_and_the_presets(data_root, tmp_path, capsys):
    """Aliases set the same settings as the clear names; --hidden-layers counts gated blocks only;
    a preset fills what is not typed; the closing line names no book profile."""
    out = tmp_path / "alias"
    args = tiny(data_root, "--max-steps", "2", "--out", str(out))
    args[args.index("--layers"):args.index("--layers") + 2] = ["--hidden-layers", "2"]
    assert cli.main([*args, "--causal-ksize", "5", "--hidden-ksize", "3", "--hidden-fmaps", "6",
                     "--out-hidden-fmaps", "5", "--max-norm", "0.5"]) == 0
    s = json.loads((out / "config.json").read_text())["settings"]
    assert (s["layers"], s["causal_kernel_size"], s["kernel_size"]) == (3, 5, 3)
    assert (s["hidden_channels"], s["head_channels"], s["max_grad_norm"]) == (6, 5, 0.5)
    printed = capsys.readouterr()
    assert "profile" not in printed.out and "estimated training time on this CPU" in printed.err
    preset = tmp_path / "preset"
    assert cli.main(["train", "--preset", "cpu", "--dataset", "mnist", "--levels", "4",
                     "--data-root", str(data_root), "--no-download", "--max-steps", "1",
                     "--val-images", "8", "--device", "cpu", "--quiet", "--out", str(preset)]) == 0
    s = json.loads((preset / "config.json").read_text())["settings"]
    assert (s["hidden_channels"], s["layers"], s["batch_size"], s["lr"], s["ema"]) == (
        32, 8, 8, 5e-3, 0.999) and s["max_steps"] == 1  # typed beats the preset
    assert "estimated training time" not in capsys.readouterr().err  # a preset needs no warning


def test_version_and_help_name_every_default(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("pixelcnn_lib ")
    parser = cli.build_parser()
    for name in ("sample", "evaluate"):
        for action in parser.commands[name]._actions:
            if action.dest == "help" or not action.option_strings and action.dest != "checkpoint":
                continue
            assert action.help, (name, action.dest)
            if action.default not in (None, False):
                assert "default" in action.help, (name, action.dest)


def test_a_budget_fits_the_schedule_and_a_stop_is_recorded(data_root, tmp_path):
    """A run stopped by --max-minutes ends with its rate annealed (the cosine follows the time)
    and a closing metrics line that carries a validation score."""
    from pixelcnn_lib.training import lr_at
    assert lr_at(50, 1000, 1.0, 10, time_fraction=1.0) == pytest.approx(0.0)
    assert lr_at(50, 1000, 1.0, 10, time_fraction=0.5) == pytest.approx(0.5, abs=1e-9)
    assert lr_at(50, 1000, 1.0, 10, time_fraction=0.0) == lr_at(50, 1000, 1.0, 10)
    out = tmp_path / "budget"
    assert cli.main(tiny(data_root, "--epochs", "100000", "--max-minutes", "0.02", "--out",
                         str(out))) == 0
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    last = lines[-1]
    assert last["stopped"] == "time budget" and last["val_bits_per_dim"] is not None
    assert last["lr"] < 0.05 * 1e-3  # annealed: under 5% of the peak rate
