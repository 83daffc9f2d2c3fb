"""Training loop, evaluation and checkpoints: each test guards a pitfall seen in public code."""
import math
import os

import pytest
import torch
import torch.nn.functional as F

from pixelcnn_lib import training
from pixelcnn_lib.data import ImageData, photo_patches, subset
from pixelcnn_lib.models import GatedPixelCNN, PixelCNN, count_parameters
from pixelcnn_lib.training import (CheckpointError, History, TrainingDiverged, amp_dtype, by_profile,
                                   current_profile, describe_run, evaluate, load_checkpoint, load_model,
                                   lr_at, save_checkpoint, train)

FAST = dict(device="cpu", progress=False)
pytestmark = pytest.mark.usefixtures("torch_single_thread")


@pytest.fixture
def patches():
    """64 RGB 4x4 patches at 4 levels: tiny, offline, 3 channels."""
    return photo_patches(size=4, levels=4, n=64)


def tiny_pixelcnn(**kw):
    torch.manual_seed(0)
    return PixelCNN(3, 4, hidden_channels=6, n_layers=2, **kw)


def tiny_gated(**kw):
    torch.manual_seed(0)
    return GatedPixelCNN(3, 4, hidden_channels=6, n_layers=3, **kw)


def test_training_on_binarized_mnist_lowers_test_bits_per_dim(mnist_binary):
    """200 steps of a 19,698-parameter gated PixelCNN must reach < 0.20 bits/dim on held-out MNIST.

    Measured on 2-core CPU (torch 2.14.1): untrained 0.91-1.01 bits/dim; after these 200 steps
    0.1483 / 0.1476 / 0.1507 bits/dim for seeds 0 / 1 / 2 on the first 1,000 test images
    (~11 s training with one thread). A per-pixel marginal (13% of pixels on) would score
    ~0.56 bits/dim, so 0.20 demands real use of context while leaving room for seed and
    platform noise.
    """
    torch.manual_seed(0)
    model = GatedPixelCNN(1, 2, hidden_channels=16, n_layers=4)
    test = subset(mnist_binary["test"], 1000)
    before = evaluate(model, subset(test, 200))["bits_per_dim"]
    history = train(model, mnist_binary["train"], epochs=1, max_steps=200, batch_size=32, lr=3e-3,
                    seed=0, **FAST)
    after = evaluate(model, test)
    assert history.steps == 200 and len(history.epochs) == 1 and history.epochs[0]["steps"] == 200
    assert before > 0.8
    assert after["bits_per_dim"] < 0.20, after
    assert after["n_images"] == 1000
    assert after["nats_per_image"] == pytest.approx(after["bits_per_dim"] * 784 * math.log(2))


def test_evaluate_matches_brute_force_sum(patches):
    model = tiny_gated()
    data = subset(patches, 10)
    model.train()
    got = evaluate(model, data, batch_size=4)  # 4 + 4 + 2: uneven last batch
    assert model.training  # train mode restored
    model.eval()
    with torch.no_grad():
        x = data.images.long()
        logp = torch.log_softmax(model(x).double(), dim=1)  # [N, L, C, H, W]
        nats = -logp.gather(1, x[:, None]).sum().item()
    n, c, h, w = x.shape
    assert got["bits_per_dim"] == pytest.approx(nats / (n * c * h * w * math.log(2)), rel=1e-5)
    assert got["nats_per_image"] == pytest.approx(nats / n, rel=1e-5)
    assert got["n_images"] == 10


def test_lr_changes_every_batch_within_an_epoch(patches, monkeypatch):
    """Guards the per-epoch stepping pitfall: warmup then cosine, updated each optimizer step."""
    seen = []
    original = torch.optim.AdamW.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)
    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    train(tiny_pixelcnn(), patches, epochs=1, batch_size=4, lr=1e-2, warmup_steps=4, **FAST)
    assert len(seen) == 16 and all(a != b for a, b in zip(seen, seen[1:]))  # new rate at every batch
    assert seen[:4] == sorted(seen[:4]) and seen[3] == pytest.approx(1e-2)  # linear warmup to lr
    assert seen[3:] == sorted(seen[3:], reverse=True) and 0 < seen[-1] < 1e-3  # cosine decay


def test_lr_schedule_shape():
    assert lr_at(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert lr_at(10, 100, 1.0, 10) < 1.0
    assert lr_at(55, 100, 1.0, 10) == pytest.approx(0.5, abs=0.02)
    assert 0 < lr_at(99, 100, 1.0, 10) < 1e-3
    assert lr_at(100, 100, 1.0, 10) == pytest.approx(0.0, abs=1e-12)


def test_nan_loss_stops_with_clear_error(patches):
    with pytest.raises(TrainingDiverged, match="lower learning rate"):
        train(tiny_pixelcnn(), patches, epochs=3, batch_size=8, lr=1e30, **FAST)
    model = tiny_pixelcnn()
    model.register_forward_hook(lambda module, args, out: out * float("nan"))
    with pytest.raises(TrainingDiverged, match="NaN"):
        train(model, patches, epochs=1, batch_size=8, **FAST)


def test_max_steps_and_history_provenance(patches):
    model = tiny_gated()
    h = train(model, patches, val_data=patches, epochs=5, max_steps=6, batch_size=16, **FAST)
    assert h.steps == 6 and [e["steps"] for e in h.epochs] == [4, 2]
    assert h.n_parameters == count_parameters(model) and h.model == "GatedPixelCNN"
    assert h.device.startswith("CPU") and h.torch_version == torch.__version__
    assert h.profile in training.PROFILES and h.amp == "off"
    assert all(e["val_bits_per_dim"] > 0 and e["images_per_s"] > 0 for e in h.epochs)
    text = describe_run(h, evaluate(model, patches), width=None)
    for piece in (h.device, torch.__version__, f"{h.n_parameters:,}", "images/s", "test", h.profile):
        assert piece in text


def test_labels_passed_only_to_conditional_models(patches, monkeypatch):
    labelled = ImageData(patches.images, torch.arange(len(patches)) % 3, 4, "p", "train")
    for model, expect_labels in ((tiny_gated(), False), (tiny_gated(n_classes=3), True)):
        got = []
        model.register_forward_pre_hook(lambda m, args: got.append(args[1] if len(args) > 1 else None))
        train(model, labelled, epochs=1, batch_size=32, **FAST)
        assert got and all((y is not None) == expect_labels for y in got)


def test_data_validated_up_front(patches):
    model = tiny_pixelcnn()
    with pytest.raises(ValueError, match="levels=4"):
        train(model, photo_patches(size=4, levels=8, n=8), **FAST)
    with pytest.raises(TypeError, match="integer levels"):
        train(model, patches.images.float(), **FAST)
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        train(model, patches.images.clone().fill_(7), **FAST)
    with pytest.raises(ValueError):
        train(model, photo_patches(size=4, levels=4, n=8).images[:, :1], **FAST)  # 1 channel, model wants 3
    with pytest.raises(ValueError, match="labels"):
        train(tiny_gated(n_classes=3), patches.images, **FAST)


# ----------------------------------------------------------------------------- profiles & devices

def test_profiles(monkeypatch):
    monkeypatch.setenv("PIXELCNN_PROFILE", "quick")
    assert current_profile() == "quick" and by_profile(quick=1, cpu=2, gpu=3) == 1
    assert by_profile(quick=1, cpu=2, gpu=3, profile="gpu") == 3
    monkeypatch.setenv("PIXELCNN_PROFILE", "fast")
    with pytest.raises(ValueError, match="quick, cpu, gpu"):
        current_profile()
    monkeypatch.delenv("PIXELCNN_PROFILE")
    expected = "cpu" if training.pick_device().type == "cpu" else "gpu"
    assert current_profile() == expected and by_profile(quick=1, cpu=2, gpu=3) == {"cpu": 2, "gpu": 3}[expected]


def test_amp_dtype_per_device(monkeypatch):
    assert amp_dtype("cpu") is None and amp_dtype("mps") is None
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))  # T4
    assert amp_dtype("cuda") == torch.float16
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))  # A100
    assert amp_dtype("cuda") == torch.bfloat16


# ----------------------------------------------------------------------------- checkpoints

def test_checkpoint_round_trip_identical_logits(patches, tmp_path):
    model = tiny_gated()
    path = tmp_path / "run.pt"
    h = train(model, patches, epochs=1, batch_size=16, checkpoint=path, **FAST)
    state = load_checkpoint(path)
    assert state["format"] == "pixelcnn_lib/1" and state["epoch"] == 1
    assert state["model_class"] == "GatedPixelCNN" and state["model_config"] == model.config
    assert History.from_dict(state["history"]) == h
    again = load_model(path, device="cpu")
    assert not again.training
    model.eval()
    with torch.no_grad():
        x = patches.images[:5].long()
        assert torch.equal(again(x), model(x))


def test_load_checkpoint_maps_to_cpu(patches, tmp_path, monkeypatch):
    """A GPU checkpoint must open on a CPU machine: map_location='cpu' every time."""
    path = save_checkpoint(tmp_path / "c.pt", tiny_pixelcnn())
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    load_checkpoint(path)
    assert calls and calls[0]["map_location"] == "cpu" and calls[0]["weights_only"] is True


def test_resume_continues_exactly_where_it_stopped(patches, tmp_path, monkeypatch):
    """Stop after epoch 1 of 3, resume in a fresh process-like model: same weights as never stopping."""
    kw = dict(epochs=3, batch_size=16, lr=3e-3, **FAST)
    uninterrupted = tiny_gated()
    full = train(uninterrupted, patches, **kw)

    path = tmp_path / "run.pt"
    real_save = training.save_checkpoint

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt  # the kernel died right after epoch 1 was saved
    monkeypatch.setattr(training, "save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_gated(), patches, checkpoint=path, **kw)
    monkeypatch.setattr(training, "save_checkpoint", real_save)

    torch.manual_seed(123)
    resumed_model = GatedPixelCNN(3, 4, hidden_channels=6, n_layers=3)  # different init: must be overwritten
    resumed = train(resumed_model, patches, checkpoint=path, **kw)
    assert [e["epoch"] for e in resumed.epochs] == [1, 2, 3] and resumed.steps == full.steps == 12
    assert resumed.train_bits_per_dim == pytest.approx(full.train_bits_per_dim, rel=1e-6)
    for a, b in zip(resumed_model.state_dict().values(), uninterrupted.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    again = train(resumed_model, patches, checkpoint=path, **kw)  # all epochs done: nothing to do
    assert again.steps == 12 and len(again.epochs) == 3
    with pytest.raises(CheckpointError, match="resume=False"):
        train(tiny_pixelcnn(), patches, checkpoint=path, **kw)  # another model's checkpoint


def test_interrupted_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model = tiny_pixelcnn()
    path = save_checkpoint(tmp_path / "c.pt", model, epoch=1)
    before = path.read_bytes()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    def write_half_then_fail(obj, f, *args, **kwargs):
        f.write(before[: len(before) // 2])
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, epoch=2)
    assert path.read_bytes() == before and load_checkpoint(path)["epoch"] == 1
    assert sorted(os.listdir(tmp_path)) == ["c.pt"]  # no temp file left behind


def test_truncated_and_foreign_checkpoints_raise_clear_errors(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", tiny_pixelcnn(), epoch=1)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated") as err:
        load_checkpoint(truncated)
    assert str(truncated) in str(err.value)

    tensor_file = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor_file)
    with pytest.raises(CheckpointError, match="not a pixelcnn_lib/1 checkpoint.*Tensor") as err:
        load_checkpoint(tensor_file)
    assert str(tensor_file) in str(err.value)

    plain_dict = tmp_path / "state_dict.pt"
    torch.save(tiny_pixelcnn().state_dict(), plain_dict)
    with pytest.raises(CheckpointError, match="not a pixelcnn_lib/1 checkpoint"):
        load_checkpoint(plain_dict)

    pickled_module = tmp_path / "module.pt"
    torch.save({"format": "pixelcnn_lib/1", "model": tiny_pixelcnn()}, pickled_module)  # a whole nn.Module
    with pytest.raises(CheckpointError, match="weights-only") as err:
        load_checkpoint(pickled_module)
    assert str(pickled_module) in str(err.value)

    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CheckpointError, match="noise.bin"):
        load_checkpoint(noise)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


# ----------------------------------------------------------------------------- per-step records

def test_records_every_log_step_with_window_means_that_add_up_to_the_epoch(patches):
    """64 images, batch 8: 8 steps per epoch; log every 3 -> records at 3, 6, 8 | 11, 14, 16."""
    h = train(tiny_gated(), patches, val_data=subset(patches, 8), epochs=2, batch_size=8, log_every=3,
              eval_every=6, **FAST)
    assert [r["step"] for r in h.records] == [3, 6, 8, 9, 12, 15, 16]  # log steps + epoch ends
    assert [r["window_steps"] for r in h.records] == [3, 3, 2, 1, 3, 3, 1]
    assert [r["val_bits_per_dim"] is not None for r in h.records] == [False, True, True, False, True, False, True]
    assert [r["epoch"] for r in h.records] == [0.375, 0.75, 1.0, 1.125, 1.5, 1.875, 2.0]
    for epoch, rows in ((h.epochs[0], h.records[:3]), (h.epochs[1], h.records[3:])):
        weighted = sum(r["train_bits_per_dim"] * r["window_steps"] for r in rows) / 8
        assert weighted == pytest.approx(epoch["train_bits_per_dim"], rel=1e-9)
    assert all(r["images_per_s"] > 0 and r["lr"] > 0 for r in h.records)
    assert [r["wall_s"] for r in h.records] == sorted(r["wall_s"] for r in h.records)


def test_describe_run_states_the_true_fraction_and_the_last_window(patches):
    h = train(tiny_gated(), patches, epochs=3, max_steps=5, batch_size=8, log_every=2, **FAST)
    text = describe_run(h, width=None)
    assert "trained for 0.62 epochs (5 steps of batch 8)" in text
    assert f"Train {h.records[-1]['train_bits_per_dim']:.4f} bits/dim (mean over the last 1 steps)" in text
    wrapped = describe_run(h, width=60)
    assert wrapped.replace("\n", " ") == text and max(map(len, wrapped.splitlines())) <= 60
    h.steps = 16
    assert "trained for 2 epochs (16 steps" in describe_run(h, width=None)
    old = History.from_dict({"epochs": h.epochs, "model": "PixelCNN", "unknown_future_key": 1})
    assert "1 epoch(s)" in describe_run(old, width=None) and "Final-epoch train" in describe_run(old, width=None)


def test_plot_history_is_legible_at_book_width(patches):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.text import Text
    h = train(tiny_gated(), patches, val_data=subset(patches, 8), epochs=2, batch_size=8, log_every=2,
              ema=0.9, **FAST)
    fig = training.plot_history(h, title="tiny")
    assert tuple(fig.get_size_inches() * fig.dpi) == (700, 300)
    texts = [t for t in fig.findobj(Text) if t.get_text().strip()]
    assert texts and min(t.get_fontsize() for t in texts) >= 9  # >= 12 px at 690 px display width
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == [
        "train (mean over each log window)", "validation", "validation, EMA weights"]
    assert list(ax.get_lines()[0].get_xdata()) == [r["step"] for r in h.records]


# ----------------------------------------------------------------------------- stopping and resuming

def test_ctrl_c_stops_between_steps_saves_and_resumes_exactly(patches, tmp_path):
    """A real SIGINT arriving during step 6 stops after it, saves, raises TrainingInterrupted;
    resuming gives bit-identical weights, EMA and records to a run never interrupted."""
    import signal
    kw = dict(epochs=2, batch_size=8, lr=3e-3, log_every=3, ema=0.9, **FAST)
    full_model = tiny_gated()
    full = train(full_model, patches, **kw)

    def interrupt_at_step_6(record):
        if record["step"] == 6:
            os.kill(os.getpid(), signal.SIGINT)
    path = tmp_path / "run.pt"
    with pytest.raises(training.TrainingInterrupted) as stopped:
        train(tiny_gated(), patches, checkpoint=path, on_log=interrupt_at_step_6, **kw)
    assert stopped.value.history.steps == 6 and stopped.value.history.stopped == "interrupted"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    state = load_checkpoint(path)
    assert state["position"]["epoch_step"] == 6 and state["ema_state"]["n_updates"] == 6

    torch.manual_seed(9)
    model = GatedPixelCNN(3, 4, hidden_channels=6, n_layers=3)
    resumed = train(model, patches, checkpoint=path, **kw)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), full_model.state_dict().values()))
    strip = [{k: v for k, v in r.items() if k not in ("wall_s", "images_per_s")} for r in full.records]
    assert strip == [{k: v for k, v in r.items() if k not in ("wall_s", "images_per_s")}
                     for r in resumed.records]
    assert resumed.train_bits_per_dim == full.train_bits_per_dim and resumed.stopped == ""


def test_checkpoint_every_and_time_budget(patches, tmp_path, monkeypatch):
    saved_at = []
    real_save = training.save_checkpoint
    monkeypatch.setattr(training, "save_checkpoint",
                        lambda *a, **k: saved_at.append(k["extra"]["position"]["epoch_step"]) or real_save(*a, **k))
    train(tiny_gated(), patches, epochs=1, batch_size=8, checkpoint=tmp_path / "a.pt", checkpoint_every=3, **FAST)
    assert saved_at == [3, 6, 0]  # every 3 steps, then the epoch end (position: next epoch, step 0)
    saved_at.clear()
    h = train(tiny_gated(), patches, epochs=1, batch_size=8, checkpoint=tmp_path / "b.pt", max_minutes=1e-9,
              **FAST)
    assert h.steps == 1 and h.stopped == "time budget" and saved_at == [1]
    assert load_checkpoint(tmp_path / "b.pt")["history"]["stopped"] == "time budget"
    h = train(tiny_gated(), patches, epochs=1, batch_size=8, max_minutes=1e-9, **FAST)  # no ckpt
    assert h.steps == 1 and h.stopped == "time budget"
    with pytest.raises(CheckpointError, match="batch_size=8"):
        train(tiny_gated(), patches, batch_size=16, checkpoint=tmp_path / "b.pt", **FAST)
