"""The weight average: its arithmetic by hand, swapping it in and out, and its place in checkpoints."""
import pytest
import torch
import torch.nn as nn

from pixelcnn_lib.data import photo_patches
from pixelcnn_lib.ema import EMA
from pixelcnn_lib.evaluation import evaluate
from pixelcnn_lib.models import GatedPixelCNN
from pixelcnn_lib.training import load_checkpoint, load_model, train

pytestmark = pytest.mark.usefixtures("torch_single_thread")


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.register_buffer("scale", torch.ones(2))                   # a float buffer: copied
        self.register_buffer("count", torch.zeros((), dtype=torch.long))  # an integer buffer: copied


def set_all(model, value):
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
        model.scale.fill_(value)
        model.count.fill_(int(value))


def test_update_follows_the_warmup_decay_by_hand():
    model = Tiny()
    set_all(model, 0.0)
    ema = EMA(model, decay=0.5)
    # by hand: d = 1/10, 2/11, 3/12, 4/13 (the warm-up rule stays below 0.5 for these updates)
    # 0.9*10 = 9; (2*9 + 9*20)/11 = 18; 0.25*18 + 0.75*30 = 27; (4*27 + 9*40)/13 = 36
    for value, expected in zip([10.0, 20.0, 30.0, 40.0], [9.0, 18.0, 27.0, 36.0]):
        set_all(model, value)
        ema.update(model)
        assert torch.allclose(ema.shadow["linear.weight"], torch.full((2, 2), expected), rtol=1e-6)
        assert torch.allclose(ema.shadow["linear.bias"], torch.full((2,), expected), rtol=1e-6)
        assert torch.equal(ema.shadow["scale"], model.scale)  # buffers follow the model, not averaged
        assert int(ema.shadow["count"]) == int(value)
    for _ in range(20):
        ema.update(model)
    assert ema.current_decay() == 0.5  # the warm-up rule has reached the requested decay
    with pytest.raises(ValueError, match="0.999"):
        EMA(model, decay=1.0)


def test_applied_swaps_the_average_in_and_restores_the_weights_even_on_error():
    model = Tiny()
    set_all(model, 1.0)
    ema = EMA(model)
    set_all(model, 5.0)
    with ema.applied(model):
        assert torch.all(model.linear.weight == 1.0)
    assert torch.all(model.linear.weight == 5.0)
    with pytest.raises(RuntimeError):
        with ema.applied(model):
            raise RuntimeError("boom")
    assert torch.all(model.linear.weight == 5.0)
    ema.copy_to(model)
    assert torch.all(model.linear.weight == 1.0)


def test_state_dict_round_trip_and_mismatch():
    model = Tiny()
    ema = EMA(model, 0.9)
    set_all(model, 3.0)
    ema.update(model)
    again = EMA(Tiny(), 0.5)
    again.load_state_dict(ema.state_dict())
    assert again.decay == 0.9 and again.n_updates == 1
    assert all(torch.equal(again.shadow[k], ema.shadow[k]) for k in ema.shadow)
    with pytest.raises(ValueError, match="does not fit"):
        EMA(nn.Linear(2, 2)).load_state_dict(ema.state_dict())


def test_training_with_ema_checkpoints_both_and_ends_on_the_average(tmp_path):
    data = photo_patches(size=4, levels=4, n=64)
    val = photo_patches(size=4, levels=4, n=16, split="test")
    torch.manual_seed(0)
    model = GatedPixelCNN(3, 4, hidden_channels=6, n_layers=3)
    path = tmp_path / "run.pt"
    history = train(model, data, val, epochs=2, batch_size=16, lr=3e-3, ema=0.9, checkpoint=path,
                    device="cpu", progress=False)
    state = load_checkpoint(path)
    assert state["ema_state"]["n_updates"] == 8 and state["ema_state"]["decay"] == 0.9
    shadow, raw = state["ema_state"]["shadow"], state["model_state"]
    assert any(not torch.equal(shadow[k], raw[k]) for k in raw)
    assert all(torch.equal(v, shadow[k]) for k, v in model.state_dict().items())  # ends on the EMA
    averaged, trained = load_model(path, device="cpu"), load_model(path, device="cpu", ema=False)
    assert averaged.checkpoint_weights == "ema" and trained.checkpoint_weights == "raw"
    assert all(torch.equal(v, raw[k]) for k, v in trained.state_dict().items())
    last = history.records[-1]
    assert last["val_ema_bits_per_dim"] == pytest.approx(evaluate(averaged, val)["bits_per_dim"], rel=1e-9)
    assert last["val_bits_per_dim"] == pytest.approx(evaluate(trained, val)["bits_per_dim"], rel=1e-9)
    assert history.ema == 0.9 and history.epochs[-1]["val_ema_bits_per_dim"] == last["val_ema_bits_per_dim"]
