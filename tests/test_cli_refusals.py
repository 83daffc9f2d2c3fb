"""Every bad number or contradiction on the command line is refused the same way: exit status 2,
one line on stderr that names the option, no traceback, and not one file written or folder made.

One table, one check. Runs in-process on the fake 8x8 MNIST (tests/fake_mnist.py).
"""
import pytest

from fake_mnist import write_fake_mnist
from pixelcnn_lib import cli

pytestmark = pytest.mark.usefixtures("torch_single_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A data folder and one tiny trained run to sample from and evaluate."""
    root = tmp_path_factory.mktemp("refusals")
    data = write_fake_mnist(root / "data")
    run = root / "run"
    assert cli.main(train_args(data, "--max-steps", "2", "--out", str(run))) == 0
    return root, data, run / "checkpoint.pt"


def train_args(data, *extra):
    return ["train", "--dataset", "mnist", "--levels", "4", "--data-root", str(data),
            "--no-download", "--hidden-channels", "4", "--layers", "2", "--batch-size", "8",
            "--val-images", "16", "--device", "cpu", "--quiet", *extra]


# (name, extra arguments for `train` into a fresh --out, phrases the message must hold)
TRAIN = [
    ("max-steps 0", ["--max-steps", "0"], ["--max-steps", ">= 1"]),
    ("epochs 0", ["--epochs", "0"], ["--epochs", ">= 1"]),
    ("batch-size -8", ["--batch-size", "-8"], ["--batch-size", ">= 1"]),
    ("batch-size word", ["--batch-size", "eight"], ["--batch-size", "whole number"]),
    ("max-minutes -1", ["--max-minutes", "-1"], ["--max-minutes", "> 0"]),
    ("max-minutes 0", ["--max-minutes", "0"], ["--max-minutes", "> 0"]),
    ("hidden-channels 0", ["--hidden-channels", "0"], ["--hidden-channels", ">= 1"]),
    ("hidden-fmaps 0", ["--hidden-fmaps", "0"], ["--hidden-fmaps", ">= 1"]),
    ("layers 0", ["--layers", "0"], ["--layers", ">= 1"]),
    ("hidden-layers 0", ["--hidden-layers", "0"], ["--hidden-layers", ">= 1"]),
    ("hidden-layers vs layers", ["--hidden-layers", "3"], ["--layers 2", "--hidden-layers 3"]),
    ("lr -1", ["--lr", "-1"], ["--lr", "> 0"]),
    ("lr nan", ["--lr", "nan"], ["--lr", "> 0"]),
    ("ema 1.5", ["--ema", "1.5"], ["--ema", "[0, 1)"]),
    ("ema and no-ema", ["--ema", "0.99", "--no-ema"], ["--ema 0.99", "--no-ema"]),
    ("kernel-size 4", ["--kernel-size", "4"], ["--kernel-size", "odd", "use 3, 5 or 7"]),
    ("causal-ksize 4", ["--causal-ksize", "4"], ["--causal-ksize", "odd"]),
    ("causal kernel wider than image", ["--causal-kernel-size", "17"],
     ["--causal-kernel-size 17", "8x8"]),
    ("levels 1", ["--levels", "1"], ["--levels", "2..256"]),
    ("color-levels 300", ["--color-levels", "300"], ["--color-levels", "2..256"]),
    ("weight-decay -0.1", ["--weight-decay", "-0.1"], ["--weight-decay", ">= 0"]),
    ("max-norm -1", ["--max-norm", "-1"], ["--max-norm", ">= 0"]),
    ("warmup-steps -1", ["--warmup-steps", "-1"], ["--warmup-steps", ">= 0"]),
    ("seed -1", ["--seed", "-1"], ["--seed", ">= 0"]),
    ("log-every 0", ["--log-every", "0"], ["--log-every", ">= 1"]),
    ("eval-every 0", ["--eval-every", "0"], ["--eval-every", ">= 1"]),
    ("checkpoint-every 0", ["--checkpoint-every", "0"], ["--checkpoint-every", ">= 1"]),
    ("val-images 0", ["--val-images", "0"], ["--val-images", ">= 1"]),
    ("dilation 0", ["--dilations", "1,0"], ["--dilations", ">= 1"]),
    ("dilations count", ["--dilations", "1,2,4"], ["--dilations gives 3", "--layers 2"]),
    ("unknown option", ["--colour", "red"], ["--colour", "pixelcnn train --help"]),
    ("preset unknown", ["--preset", "tpu"], ["--preset", "invalid choice"]),
]
# (name, arguments after `sample CHECKPOINT`, phrases)
SAMPLE = [
    ("n -3", ["-n", "-3"], ["-n", ">= 1"]),
    ("n 0", ["-n", "0"], ["-n", ">= 1"]),
    ("temperature 0", ["--temperature", "0"], ["--temperature", "> 0"]),
    ("per-class 0", ["--per-class", "0"], ["--per-class", ">= 1"]),
    ("labels -1", ["--labels", "-1"], ["--labels", ">= 0"]),
    ("shape with 0", ["--shape", "1,0,8"], ["--shape", ">= 1"]),
    ("seed -2", ["--seed", "-2"], ["--seed", ">= 0"]),
]
# (name, arguments after `evaluate CHECKPOINT`, phrases)
EVALUATE = [
    ("limit 0", ["--limit", "0"], ["--limit", ">= 1"]),
    ("limit -5", ["--limit", "-5"], ["--limit", ">= 1"]),
    ("batch-size 0", ["--batch-size", "0"], ["--batch-size", ">= 1"]),
]


def tree(*folders):
    return sorted(str(p) for folder in folders for p in folder.rglob("*"))


def refused(argv, phrases, capsys, *watched):
    before = tree(*watched)
    try:
        status = cli.main(argv)
    except SystemExit as e:  # argparse's own errors
        status = e.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase in err, err
    assert tree(*watched) == before  # nothing written, no folder made
    return err


def test_the_table_is_large():
    assert len(TRAIN) + len(SAMPLE) + len(EVALUATE) >= 25


@pytest.mark.parametrize("extra, phrases", [c[1:] for c in TRAIN], ids=[c[0] for c in TRAIN])
def test_train_refuses(world, extra, phrases, capsys):
    root, data, _ = world
    refused(train_args(data, *extra, "--out", str(root / "new")), phrases, capsys, root)


@pytest.mark.parametrize("extra, phrases", [c[1:] for c in SAMPLE], ids=[c[0] for c in SAMPLE])
def test_sample_refuses(world, extra, phrases, capsys):
    root, _, checkpoint = world
    argv = ["sample", str(checkpoint), *extra, "--out", str(root / "out" / "s.png")]
    refused(argv, phrases, capsys, root)


@pytest.mark.parametrize("extra, phrases", [c[1:] for c in EVALUATE], ids=[c[0] for c in EVALUATE])
def test_evaluate_refuses(world, extra, phrases, capsys):
    root, data, checkpoint = world
    argv = ["evaluate", str(checkpoint), "--data-root", str(data), "--no-download", *extra]
    refused(argv, phrases, capsys, root)


def test_resume_of_an_empty_folder_is_refused(world, capsys):
    root, data, _ = world
    (root / "empty").mkdir(exist_ok=True)
    refused(train_args(data, "--out", str(root / "empty"), "--resume"),
            ["--resume", "no run in", "drop --resume"], capsys, root)


def test_missing_data_with_downloads_names_the_files_and_leaves_no_folder(world, capsys,
                                                                          monkeypatch):
    """A download that fails (as offline) is reported in one line listing the four files, and the
    folders it made are gone again."""
    import pixelcnn_lib.data as data_module
    root, _, _ = world

    class OfflineMNIST:
        def __init__(self, folder, train, download):
            from pathlib import Path
            (Path(folder) / "MNIST" / "raw").mkdir(parents=True, exist_ok=True)  # as torchvision
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n")
    monkeypatch.setattr(data_module, "_torchvision_class", lambda name: OfflineMNIST)
    new = root / "new_data" / "dir"
    argv = ["train", "--dataset", "mnist", "--data-root", str(new), "--out", str(root / "x")]
    err = refused(argv, ["mnist not found under", "t10k-labels-idx1-ubyte", "--data-root",
                         "Error downloading train-images-idx3-ubyte.gz)"], capsys, root)
    assert err.count("(") == err.count(")")
    assert not (root / "new_data").exists()
